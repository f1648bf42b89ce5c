//! Ansible's host ranges: `web[01:10].example.com` stands for
//! web01.example.com to web10.example.com, `db-[a:c]` for db-a to db-c,
//! `node[0:20:5]` for every fifth; several ranges in one name multiply.

/// Every host name `pattern` stands for (the name itself when it has no
/// range); an error says what is wrong with the range.
pub(crate) fn expand(pattern: &str) -> Result<Vec<String>, String> {
    let Some(open) = pattern.find('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let close = pattern[open..]
        .find(']')
        .map(|i| open + i)
        .ok_or_else(|| format!("host range `{pattern}` has no closing ]"))?;
    let (head, spec, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let parts: Vec<&str> = spec.split(':').collect();
    let (first, last, step) = match parts.as_slice() {
        [first, last] => (*first, *last, 1),
        [first, last, step] => {
            let step: usize = step.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                format!("host range `{pattern}`: the step `{step}` is not a whole number above 0")
            })?;
            (*first, *last, step)
        }
        _ => {
            return Err(format!(
                "host range `{pattern}`: write [FIRST:LAST] or [FIRST:LAST:STEP]"
            ));
        }
    };
    let middles =
        middles(first, last, step).map_err(|why| format!("host range `{pattern}`: {why}"))?;
    let mut names = Vec::new();
    for middle in middles {
        for rest in expand(tail)? {
            names.push(format!("{head}{middle}{rest}"));
        }
        if names.len() > MOST_HOSTS {
            return Err(format!(
                "host range `{pattern}` stands for more than {MOST_HOSTS} hosts"
            ));
        }
    }
    Ok(names)
}

/// The most hosts one range may stand for: a typo (`[1:1000000]`) is
/// refused rather than held in memory.
const MOST_HOSTS: usize = 100_000;

/// The texts a range's bounds give: numbers (zero-padded to the first
/// bound's width when it has a leading zero) or single letters.
fn middles(first: &str, last: &str, step: usize) -> Result<Vec<String>, String> {
    let first = if first.is_empty() { "0" } else { first };
    if let (Ok(a), Ok(b)) = (first.parse::<u64>(), last.parse::<u64>()) {
        if a > b {
            return Err(format!("{first} comes after {last}"));
        }
        let width = if first.len() > 1 && first.starts_with('0') {
            if last.len() != first.len() {
                return Err(format!(
                    "{first} and {last} must have the same number of digits"
                ));
            }
            first.len()
        } else {
            0
        };
        let count = (b - a) / step as u64 + 1;
        if count > MOST_HOSTS as u64 {
            return Err(format!("stands for more than {MOST_HOSTS} hosts"));
        }
        return Ok((a..=b)
            .step_by(step)
            .map(|n| format!("{n:0width$}"))
            .collect());
    }
    let letter = |s: &str| {
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphabetic() => Some(c),
            _ => None,
        }
    };
    match (letter(first), letter(last)) {
        (Some(a), Some(b)) if a <= b => Ok((a..=b).step_by(step).map(String::from).collect()),
        (Some(a), Some(b)) => Err(format!("{a} comes after {b}")),
        _ => Err(format!(
            "the bounds `{first}` and `{last}` must be two numbers or two letters"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn ranges_stand_for_their_hosts() {
        assert_eq!(expand("web").unwrap(), ["web"]);
        assert_eq!(
            expand("web[01:03].example.com").unwrap(),
            [
                "web01.example.com",
                "web02.example.com",
                "web03.example.com"
            ]
        );
        assert_eq!(expand("n[1:10:4]").unwrap(), ["n1", "n5", "n9"]);
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand("h[:2]").unwrap(), ["h0", "h1", "h2"]);
        assert_eq!(
            expand("r[1:2]-[a:b]").unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
    }

    #[test]
    fn bad_ranges_are_named() {
        for (pattern, says) in [
            ("web[3:1]", "comes after"),
            ("web[01:100]", "same number of digits"),
            ("web[1:3", "no closing ]"),
            ("web[1]", "[FIRST:LAST]"),
            ("web[1:3:0]", "above 0"),
            ("web[a:3]", "two numbers or two letters"),
            ("web[0:9999999]", "more than"),
        ] {
            let error = expand(pattern).unwrap_err();
            assert!(error.contains(says), "{pattern}: {error}");
            assert!(
                error.contains(pattern) || says == "more than",
                "{pattern}: {error}"
            );
        }
    }
}
