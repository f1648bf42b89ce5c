//! Ansible's `find`: files under some folders chosen by name (shell
//! patterns or regular expressions), type, age, size and content, each
//! described as `stat` describes it. The host's `find` lists the folders
//! in one command; the choosing is done here.

use capstan_plugin_sdk::remote;
use capstan_plugin_sdk::{Context, Error, JsonSchema, Outcome, glob_match};
use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

/// Parameters of `find` (Ansible's names).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindParams {
    /// The folders to look in.
    paths: Vec<String>,
    /// Names to choose (shell patterns, or regular expressions with
    /// `use_regex`); none: every name.
    #[serde(default)]
    patterns: Vec<String>,
    /// Names to leave out, written as `patterns` are.
    #[serde(default)]
    excludes: Vec<String>,
    /// A regular expression a chosen file's content must hold (on one
    /// line, unless `read_whole_file`).
    contains: Option<String>,
    /// Match `contains` against the whole file at once.
    #[serde(default)]
    read_whole_file: bool,
    /// file (default), directory, link or any.
    file_type: Option<String>,
    /// Look into sub-folders too.
    #[serde(default)]
    recurse: bool,
    /// How deep `recurse` goes.
    depth: Option<u32>,
    /// At least this old (`30s`, `5m`, `2h`, `1d`, `1w`); negative: at most.
    age: Option<String>,
    /// Which time `age` reads: mtime (default), atime or ctime.
    age_stamp: Option<String>,
    /// At least this large (`10k`, `1m`, `2g`; bytes without a unit);
    /// negative: at most.
    size: Option<String>,
    /// Include names starting with a dot.
    #[serde(default)]
    hidden: bool,
    /// Follow links to folders.
    #[serde(default)]
    follow: bool,
    /// Patterns are Python-style regular expressions, matched from a
    /// name's start.
    #[serde(default)]
    use_regex: bool,
    /// Add each file's SHA-1 as `checksum`.
    #[serde(default)]
    get_checksum: bool,
    /// Only sha1, Ansible's default.
    checksum_algorithm: Option<String>,
}

/// Lists each folder given (`D PATH` first, or `S PATH` for one that is
/// not a folder), then one NUL-separated record per entry under it.
const LIST: &str = r#"depth=$1 follow=$2
shift 2
for p in "$@"; do
    if [ ! -d "$p" ]; then printf 'S\0%s\0' "$p"; continue; fi
    if [ -n "$follow" ]; then set_l=-L; else set_l=; fi
    find $set_l "$p" -mindepth 1 ${depth:+-maxdepth "$depth"} \
        -printf 'F\0%p\0%y\0%m\0%s\0%U\0%G\0%u\0%g\0%T@\0%A@\0%C@\0%i\0%n\0%D\0' || exit 1
done"#;

/// One entry as the host's `find` described it.
struct Entry {
    fields: Vec<String>,
}

impl Entry {
    fn path(&self) -> &str {
        &self.fields[0]
    }
    fn kind(&self) -> &str {
        &self.fields[1]
    }
    fn number(&self, i: usize) -> f64 {
        self.fields[i].parse().unwrap_or(0.0)
    }
    fn name(&self) -> &str {
        self.path().rsplit('/').next().unwrap_or_default()
    }

    /// Ansible's stat fields for it.
    fn describe(&self) -> Value {
        let mode = u32::from_str_radix(&self.fields[2], 8).unwrap_or(0);
        let bit = |b: u32| mode & b != 0;
        let int = |i: usize| self.fields[i].parse::<i64>().unwrap_or(0);
        json!({
            "path": self.path(),
            "mode": format!("{:04o}", mode & 0o7777),
            "isdir": self.kind() == "d",
            "isreg": self.kind() == "f",
            "islnk": self.kind() == "l",
            "isfifo": self.kind() == "p",
            "issock": self.kind() == "s",
            "ischr": self.kind() == "c",
            "isblk": self.kind() == "b",
            "size": int(3),
            "uid": int(4),
            "gid": int(5),
            "pw_name": self.fields[6],
            "gr_name": self.fields[7],
            "mtime": self.number(8),
            "atime": self.number(9),
            "ctime": self.number(10),
            "inode": int(11),
            "nlink": int(12),
            "dev": int(13),
            "rusr": bit(0o400), "wusr": bit(0o200), "xusr": bit(0o100),
            "rgrp": bit(0o040), "wgrp": bit(0o020), "xgrp": bit(0o010),
            "roth": bit(0o004), "woth": bit(0o002), "xoth": bit(0o001),
            "isuid": bit(0o4000), "isgid": bit(0o2000),
        })
    }
}

/// How names are matched.
enum Names {
    Globs(Vec<String>, Vec<String>),
    Regexes(Vec<Regex>, Vec<Regex>),
}

impl Names {
    fn new(p: &FindParams) -> Result<Names, Error> {
        if !p.use_regex {
            return Ok(Names::Globs(p.patterns.clone(), p.excludes.clone()));
        }
        // Python's `re.match`: anchored at the name's start.
        let compile = |list: &[String]| -> Result<Vec<Regex>, Error> {
            list.iter()
                .map(|r| {
                    Regex::new(&format!("^(?:{r})")).map_err(|e| {
                        Error::InvalidParams(format!("`{r}` is not a regular expression: {e}"))
                    })
                })
                .collect()
        };
        Ok(Names::Regexes(compile(&p.patterns)?, compile(&p.excludes)?))
    }

    fn chosen(&self, name: &str) -> bool {
        match self {
            Names::Globs(patterns, excludes) => {
                (patterns.is_empty() || patterns.iter().any(|p| glob_match(p, name)))
                    && !excludes.iter().any(|e| glob_match(e, name))
            }
            Names::Regexes(patterns, excludes) => {
                (patterns.is_empty() || patterns.iter().any(|p| p.is_match(name)))
                    && !excludes.iter().any(|e| e.is_match(name))
            }
        }
    }
}

/// `30s`, `5m`, `2h`, `1d`, `1w` (or bare seconds) as signed seconds.
fn seconds(text: &str) -> Result<f64, Error> {
    amount(
        text,
        &[
            ('s', 1.0),
            ('m', 60.0),
            ('h', 3600.0),
            ('d', 86_400.0),
            ('w', 604_800.0),
        ],
    )
    .ok_or_else(|| Error::InvalidParams(format!("age: `{text}` is not an age such as 2d")))
}

/// `10k`, `1m`, `2g`, `1t` (or bare bytes) as signed bytes.
fn bytes(text: &str) -> Result<f64, Error> {
    let k = 1024.0;
    amount(
        text,
        &[
            ('b', 1.0),
            ('k', k),
            ('m', k * k),
            ('g', k * k * k),
            ('t', k * k * k * k),
        ],
    )
    .ok_or_else(|| Error::InvalidParams(format!("size: `{text}` is not a size such as 10k")))
}

fn amount(text: &str, units: &[(char, f64)]) -> Option<f64> {
    let text = text.trim().to_ascii_lowercase();
    let (number, scale) = match text.chars().last()? {
        c if c.is_ascii_alphabetic() => {
            let unit = units.iter().find(|(u, _)| *u == c)?.1;
            (&text[..text.len() - 1], unit)
        }
        _ => (text.as_str(), 1.0),
    };
    let value: f64 = number.parse().ok()?;
    Some(value * scale)
}

/// Whether `value` passes a signed limit: at least it when positive, at
/// most its size when negative.
fn within(value: f64, limit: Option<f64>) -> bool {
    match limit {
        None => true,
        Some(l) if l >= 0.0 => value >= l,
        Some(l) => value <= -l,
    }
}

/// The `find` action.
pub fn find(p: FindParams, ctx: &Context) -> Result<Outcome, Error> {
    if p.paths.is_empty() {
        return Err(Error::InvalidParams(
            "paths: name at least one folder".into(),
        ));
    }
    let kind = p.file_type.as_deref().unwrap_or("file");
    let wanted_kind: &[&str] = match kind {
        "file" => &["f"],
        "directory" => &["d"],
        "link" => &["l"],
        "any" => &[],
        other => {
            return Err(Error::InvalidParams(format!(
                "file_type: `{other}` is not file, directory, link or any"
            )));
        }
    };
    if p.checksum_algorithm.as_deref().is_some_and(|a| a != "sha1") {
        return Err(Error::InvalidParams(
            "checksum_algorithm: Capstan's find gives sha1 checksums".into(),
        ));
    }
    let stamp = match p.age_stamp.as_deref().unwrap_or("mtime") {
        "mtime" => 8,
        "atime" => 9,
        "ctime" => 10,
        other => {
            return Err(Error::InvalidParams(format!(
                "age_stamp: `{other}` is not mtime, atime or ctime"
            )));
        }
    };
    let names = Names::new(&p)?;
    let age = p.age.as_deref().map(seconds).transpose()?;
    let size = p.size.as_deref().map(bytes).transpose()?;
    let contains = p
        .contains
        .as_deref()
        .map(|c| {
            Regex::new(c).map_err(|e| {
                Error::InvalidParams(format!("contains: `{c}` is not a regular expression: {e}"))
            })
        })
        .transpose()?;
    let depth = match (p.recurse, p.depth) {
        (false, _) => "1".to_string(),
        (true, Some(d)) => d.to_string(),
        (true, None) => String::new(),
    };
    let follow = if p.follow { "1" } else { "" };
    let mut argv = vec!["sh", "-c", LIST, "capstan-find", depth.as_str(), follow];
    argv.extend(p.paths.iter().map(String::as_str));
    let out = remote::Command::new(argv).run_checked(&ctx.target)?;
    let now = remote::Command::new(["date", "+%s"])
        .run_checked(&ctx.target)?
        .stdout_text()
        .trim()
        .parse::<f64>()
        .unwrap_or(0.0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut fields = text.split('\0');
    let mut chosen: Vec<Entry> = Vec::new();
    let mut skipped = serde_json::Map::new();
    let mut examined = 0;
    while let Some(tag) = fields.next() {
        match tag {
            "S" => {
                let path = fields.next().unwrap_or_default();
                skipped.insert(path.into(), json!(format!("{path} was skipped as it does not seem to be a valid directory or it cannot be accessed")));
            }
            "F" => {
                let entry = Entry {
                    fields: fields.by_ref().take(14).map(String::from).collect(),
                };
                if entry.fields.len() < 14 {
                    break;
                }
                examined += 1;
                let hidden = entry.name().starts_with('.');
                let keep = (p.hidden || !hidden)
                    && (wanted_kind.is_empty() || wanted_kind.contains(&entry.kind()))
                    && names.chosen(entry.name())
                    && within(now - entry.number(stamp), age)
                    && within(entry.number(3), size);
                if keep {
                    chosen.push(entry);
                }
            }
            _ => {}
        }
    }
    if let Some(pattern) = &contains {
        chosen = holding(ctx, chosen, pattern, p.read_whole_file)?;
    }
    let sums = if p.get_checksum {
        checksums(ctx, &chosen)?
    } else {
        Vec::new()
    };
    let files: Vec<Value> = chosen
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut file = e.describe();
            if let Some(sum) = sums.get(i).filter(|s| !s.is_empty()) {
                file["checksum"] = json!(sum);
            }
            file
        })
        .collect();
    let matched = files.len();
    Ok(
        Outcome::ok(format!("{matched} of {examined} matched")).with_data(json!({
            "files": files,
            "matched": matched,
            "examined": examined,
            "skipped_paths": skipped,
            "msg": "All paths examined",
            "changed": false,
        })),
    )
}

/// The regular files among `entries` whose content matches `pattern`
/// (read whole, once, through the host's `cat`).
fn holding(
    ctx: &Context,
    entries: Vec<Entry>,
    pattern: &Regex,
    whole: bool,
) -> Result<Vec<Entry>, Error> {
    let mut kept = Vec::new();
    for entry in entries {
        if entry.kind() != "f" {
            continue;
        }
        let out = remote::Command::new(["cat", "--", entry.path()]).run(&ctx.target)?;
        if !out.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let hit = if whole {
            pattern.is_match(&text)
        } else {
            text.lines().any(|line| pattern.is_match(line))
        };
        if hit {
            kept.push(entry);
        }
    }
    Ok(kept)
}

/// Each regular file's SHA-1 (empty for anything else), in one command.
fn checksums(ctx: &Context, entries: &[Entry]) -> Result<Vec<String>, Error> {
    let files: Vec<&str> = entries
        .iter()
        .filter(|e| e.kind() == "f")
        .map(Entry::path)
        .collect();
    if files.is_empty() {
        return Ok(vec![String::new(); entries.len()]);
    }
    let mut argv = vec!["sha1sum", "--"];
    argv.extend(&files);
    let out = remote::Command::new(argv).run_checked(&ctx.target)?;
    let text = out.stdout_text();
    let mut sums = text
        .lines()
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_string());
    Ok(entries
        .iter()
        .map(|e| {
            if e.kind() == "f" {
                sums.next().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_and_sizes_read_with_their_units() {
        assert_eq!(seconds("2d").unwrap(), 172_800.0);
        assert_eq!(seconds("-1w").unwrap(), -604_800.0);
        assert_eq!(seconds("90").unwrap(), 90.0);
        assert!(seconds("soon").is_err());
        assert_eq!(bytes("10k").unwrap(), 10_240.0);
        assert!(within(100.0, Some(50.0)) && !within(100.0, Some(-50.0)));
    }

    #[test]
    fn regexes_match_from_the_start_as_pythons_re_match() {
        let p = |patterns: &[&str], excludes: &[&str]| FindParams {
            paths: vec!["/x".into()],
            patterns: patterns.iter().map(|s| s.to_string()).collect(),
            excludes: excludes.iter().map(|s| s.to_string()).collect(),
            contains: None,
            read_whole_file: false,
            file_type: None,
            recurse: false,
            depth: None,
            age: None,
            age_stamp: None,
            size: None,
            hidden: false,
            follow: false,
            use_regex: true,
            get_checksum: false,
            checksum_algorithm: None,
        };
        let names = Names::new(&p(&["app.*\\.log"], &["app-old"])).unwrap();
        assert!(names.chosen("app-1.log") && !names.chosen("myapp.log"));
        assert!(!names.chosen("app-old.log"));
        assert!(Names::new(&p(&["("], &[])).is_err());
    }
}
