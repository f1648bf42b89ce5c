//! Natural order for names people read: runs of digits compare as numbers,
//! so `h2` comes before `h10` and `web-9` before `web-10`.

use std::cmp::Ordering;

/// Compares `a` and `b` with runs of ASCII digits taken as numbers (their
/// length first, so any size works; then their digits), and everything
/// else character by character. Equal numbers with different leading
/// zeros fall back to plain order, so the order is total.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) if p.is_ascii_digit() && q.is_ascii_digit() => {
                let (m, rest_x) = digits(x);
                let (n, rest_y) = digits(y);
                let (m, n) = (trim_zeros(m), trim_zeros(n));
                let order = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if order != Ordering::Equal {
                    return order;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(p), Some(q)) => {
                if p != q {
                    return p.cmp(q);
                }
                (x, y) = (&x[1..], &y[1..]);
            }
        }
    }
}

/// Sorts names in natural order.
pub fn sort_naturally<T>(items: &mut [T], name: impl Fn(&T) -> &str) {
    items.sort_by(|a, b| natural_cmp(name(a), name(b)));
}

fn digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| *b != b'0').unwrap_or(s.len());
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_inside_names_sort_by_value() {
        let mut names = vec![
            "h10", "h2", "h1", "web-10", "web-9", "db", "h02", "a100b2", "a100b10",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            [
                "a100b2", "a100b10", "db", "h1", "h02", "h2", "h10", "web-9", "web-10"
            ]
        );
        let huge = "n123456789012345678901234567890";
        assert_eq!(natural_cmp(huge, "n9"), Ordering::Greater);
        assert_eq!(natural_cmp("h", "h1"), Ordering::Less);
        assert_eq!(natural_cmp("é2", "é10"), Ordering::Less);
    }
}
