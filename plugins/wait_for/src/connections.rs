//! Counting a port's active connections in the kernel's table, as
//! Ansible's `state=drained` does on Linux (`/proc/net/tcp` and `tcp6`).

use capstan_plugin_sdk::Error;

/// Which rows of the table count.
#[derive(Debug)]
pub struct Counting {
    /// The port, as the table writes it (four hex digits).
    port: String,
    /// Local addresses that count (the table's hex), or every address.
    local: Vec<String>,
    /// Remote addresses whose connections do not count.
    excluded: Vec<String>,
    /// Connection states that count, as the table's hex codes.
    states: Vec<&'static str>,
}

impl Counting {
    /// Counting for `port` on `host` (an IP address, `localhost`, or
    /// 0.0.0.0 / `::` for every address), leaving out `exclude_hosts`.
    pub fn new(
        port: u16,
        host: &str,
        exclude_hosts: &[String],
        states: &[String],
    ) -> Result<Counting, Error> {
        let states = states
            .iter()
            .map(|name| {
                state_code(name).ok_or_else(|| {
                    Error::msg(format!("unknown active_connection_state ({name}) defined"))
                })
            })
            .collect::<Result<_, _>>()?;
        let mut excluded = Vec::new();
        for host in exclude_hosts {
            excluded.extend(addresses(host)?);
        }
        Ok(Counting {
            port: format!("{port:04X}"),
            local: addresses(host)?,
            excluded,
            states,
        })
    }

    /// How many connections in the table count.
    pub fn active(&self, table: &[u8]) -> usize {
        let table = String::from_utf8_lossy(table);
        table
            .lines()
            .filter(|row| {
                let fields: Vec<&str> = row.split_whitespace().collect();
                let (Some(local), Some(remote), Some(state)) =
                    (fields.get(1), fields.get(2), fields.get(3))
                else {
                    return false;
                };
                let Some((local_ip, local_port)) = local.split_once(':') else {
                    return false;
                };
                let remote_ip = remote.split_once(':').map_or("", |(ip, _)| ip);
                local_port == self.port
                    && self.states.contains(state)
                    && !self.excluded.iter().any(|e| e == remote_ip)
                    && self.counts_local(local_ip)
            })
            .count()
    }

    fn counts_local(&self, ip: &str) -> bool {
        self.local.iter().any(|l| {
            l == ip
                || l == ANY_V4
                || l == ANY_V6
                || (ip.starts_with(MAPPED_PREFIX) && l.len() == 8 && ip.ends_with(l.as_str()))
        })
    }
}

const ANY_V4: &str = "00000000";
const ANY_V6: &str = "00000000000000000000000000000000";
const MAPPED_PREFIX: &str = "0000000000000000FFFF0000";

/// The table's code for a connection state.
fn state_code(name: &str) -> Option<&'static str> {
    Some(match name {
        "ESTABLISHED" => "01",
        "SYN_SENT" => "02",
        "SYN_RECV" => "03",
        "FIN_WAIT1" => "04",
        "FIN_WAIT2" => "05",
        "TIME_WAIT" => "06",
        "CLOSE" => "07",
        "CLOSE_WAIT" => "08",
        "LAST_ACK" => "09",
        "LISTEN" => "0A",
        "CLOSING" => "0B",
        _ => return None,
    })
}

/// A host's addresses as the table writes them (each 32-bit word in the
/// kernel's little-endian order).
fn addresses(host: &str) -> Result<Vec<String>, Error> {
    if host == "localhost" {
        return Ok(vec![
            v4_hex([127, 0, 0, 1]),
            v6_hex(&std::net::Ipv6Addr::LOCALHOST),
        ]);
    }
    if let Ok(v4) = host.parse::<std::net::Ipv4Addr>() {
        return Ok(vec![v4_hex(v4.octets())]);
    }
    if let Ok(v6) = host.parse::<std::net::Ipv6Addr>() {
        return Ok(vec![v6_hex(&v6)]);
    }
    Err(Error::msg(format!(
        "state=drained needs `{host}` as an IP address (or localhost): names are not resolved on the target"
    )))
}

fn v4_hex(octets: [u8; 4]) -> String {
    octets.iter().rev().map(|b| format!("{b:02X}")).collect()
}

fn v6_hex(ip: &std::net::Ipv6Addr) -> String {
    ip.octets()
        .chunks(4)
        .map(|word| {
            word.iter()
                .rev()
                .map(|b| format!("{b:02X}"))
                .collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st
   0: 0100007F:3B8F 00000000:0000 0A
   1: 0100007F:3B8F 0100007F:A1B2 01
   2: 0100007F:3B8F 0200007F:A1B3 06
   3: 0100007F:0016 0100007F:A1B4 01
";

    fn counting(host: &str, exclude: &[&str]) -> Counting {
        let states = ["ESTABLISHED", "TIME_WAIT"].map(String::from);
        let exclude: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        Counting::new(15247, host, &exclude, &states).unwrap()
    }

    #[test]
    fn active_connections_on_the_port_count() {
        assert_eq!(counting("127.0.0.1", &[]).active(TABLE.as_bytes()), 2);
        assert_eq!(counting("0.0.0.0", &[]).active(TABLE.as_bytes()), 2);
        assert_eq!(
            counting("127.0.0.1", &["127.0.0.2"]).active(TABLE.as_bytes()),
            1
        );
        assert_eq!(counting("10.0.0.1", &[]).active(TABLE.as_bytes()), 0);
    }

    #[test]
    fn addresses_are_the_kernels_hex() {
        assert_eq!(v4_hex([127, 0, 0, 1]), "0100007F");
        assert_eq!(
            v6_hex(&std::net::Ipv6Addr::LOCALHOST),
            "00000000000000000000000001000000"
        );
        assert!(addresses("example.org").is_err());
        let states = ["OPEN"].map(String::from);
        assert!(Counting::new(1, "127.0.0.1", &[], &states).is_err());
    }
}
