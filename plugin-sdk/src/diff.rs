//! Unified diffs of text, for `--diff` output.

/// Lines compared at most; larger inputs get a one-line summary instead.
const MAX_LINES: usize = 4000;

/// A unified diff of `before` and `after` (whole-file hunks with three
/// lines of context), labelled with `path`. Empty when they are equal.
pub fn unified(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    let old: Vec<&str> = before.lines().collect();
    let new: Vec<&str> = after.lines().collect();
    let mut out = format!("--- before: {path}\n+++ after: {path}\n");
    if old.len() > MAX_LINES || new.len() > MAX_LINES {
        out.push_str(&format!(
            "@@ {} lines -> {} lines (too long to show) @@\n",
            old.len(),
            new.len()
        ));
        return out;
    }
    let ops = edit_script(&old, &new);
    // Group changes into hunks with 3 lines of context.
    let mut i = 0;
    while i < ops.len() {
        if matches!(ops[i], Op::Same(_)) {
            i += 1;
            continue;
        }
        let start = i.saturating_sub(3);
        let mut end = i;
        let mut same_run: usize = 0;
        while end < ops.len() {
            match ops[end] {
                Op::Same(_) => {
                    same_run += 1;
                    if same_run > 6 {
                        break;
                    }
                }
                _ => same_run = 0,
            }
            end += 1;
        }
        let end = end.saturating_sub(same_run.saturating_sub(3));
        let (old_start, new_start) = positions(&ops[..start]);
        let (old_len, new_len) = positions(&ops[start..end]);
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            old_start + 1,
            old_len,
            new_start + 1,
            new_len
        ));
        for op in &ops[start..end] {
            match op {
                Op::Same(l) => out.push_str(&format!(" {l}\n")),
                Op::Del(l) => out.push_str(&format!("-{l}\n")),
                Op::Add(l) => out.push_str(&format!("+{l}\n")),
            }
        }
        i = end;
    }
    out
}

enum Op<'a> {
    Same(&'a str),
    Del(&'a str),
    Add(&'a str),
}

fn positions(ops: &[Op<'_>]) -> (usize, usize) {
    ops.iter().fold((0, 0), |(o, n), op| match op {
        Op::Same(_) => (o + 1, n + 1),
        Op::Del(_) => (o + 1, n),
        Op::Add(_) => (o, n + 1),
    })
}

/// Longest-common-subsequence edit script (quadratic; inputs are capped).
fn edit_script<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<Op<'a>> {
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut ops) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            ops.push(Op::Same(old[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Deletions first, as diff(1) shows them.
            ops.push(Op::Del(old[i]));
            i += 1;
        } else {
            ops.push(Op::Add(new[j]));
            j += 1;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::unified;

    #[test]
    fn equal_texts_have_no_diff() {
        assert_eq!(unified("f", "a\nb\n", "a\nb\n"), "");
    }

    #[test]
    fn a_changed_line_shows_with_context() {
        let before = "one\ntwo\nthree\nfour\nfive\nsix\nseven\n";
        let after = "one\ntwo\nthree\nFOUR\nfive\nsix\nseven\n";
        assert_eq!(
            unified("/etc/x", before, after),
            "--- before: /etc/x\n+++ after: /etc/x\n@@ -1,7 +1,7 @@\n one\n two\n three\n-four\n+FOUR\n five\n six\n seven\n"
        );
    }

    #[test]
    fn a_new_file_is_all_additions() {
        assert_eq!(
            unified("f", "", "a\n"),
            "--- before: f\n+++ after: f\n@@ -1,0 +1,1 @@\n+a\n"
        );
    }
}
