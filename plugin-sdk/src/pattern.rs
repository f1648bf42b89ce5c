//! Shell patterns (Python's `fnmatch`): what `setup`'s `filter` and
//! `find`'s `patterns` match names with.

/// Whether `name` matches the shell pattern: `*`, `?` and `[...]`
/// classes (`[!...]` negated, `a-z` ranges). Stars are matched by
/// backtracking to the last one only, so a pattern of many stars stays
/// linear in the name's length times the pattern's.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let mut last_star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            if p[pi] == '*' {
                last_star = Some((pi, ni));
                pi += 1;
                continue;
            }
            if let Some(next) = one(&p, pi, n[ni]) {
                pi = next;
                ni += 1;
                continue;
            }
        }
        // Let the last star take one more character, or fail.
        let Some((star, taken)) = last_star else {
            return false;
        };
        last_star = Some((star, taken + 1));
        pi = star + 1;
        ni = taken + 1;
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether the one-character token at `p[at]` (`?`, a class or a
/// character) matches `c`; where the next token starts.
fn one(p: &[char], at: usize, c: char) -> Option<usize> {
    match p[at] {
        '?' => Some(at + 1),
        '[' => {
            let Some(end) = p
                .iter()
                .skip(at + 2)
                .position(|x| *x == ']')
                .map(|i| i + at + 2)
            else {
                return (c == '[').then_some(at + 1);
            };
            let (negated, class) = match p[at + 1] {
                '!' => (true, &p[at + 2..end]),
                _ => (false, &p[at + 1..end]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= (class[i]..=class[i + 2]).contains(&c);
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            (hit != negated).then_some(end + 1)
        }
        literal => (literal == c).then_some(at + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn stars_marks_and_classes() {
        assert!(glob_match("ansible_mem[a-z]otal_mb", "ansible_memtotal_mb"));
        assert!(!glob_match("ansible_mem[!t]otal_mb", "ansible_memtotal_mb"));
        assert!(glob_match("a?c", "abc") && !glob_match("a?c", "ac"));
        assert!(glob_match("*.log", "app.log") && !glob_match("*.log", "app.log.1"));
        assert!(glob_match("*", ".hidden") && glob_match("", "") && !glob_match("", "a"));
        assert!(glob_match("a*b*c", "axxbyyc") && !glob_match("a*b*c", "axxbyy"));
        // Many stars against a long name ends at once.
        let stars = "*".repeat(60) + "x";
        assert!(!glob_match(&stars, &"a".repeat(250)));
    }
}
