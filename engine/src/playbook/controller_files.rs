//! Files a playbook reads on the controller for its loops and lookups
//! (`with_fileglob`, `lookup('file')`, `first_found`): found as Ansible
//! finds them (the role's folder of that kind, the role, the playbook's
//! folder of that kind, the playbook's folder) and never outside the
//! playbook's folder or the role's, wherever a `..` or a symlink leads.

use std::path::{Path, PathBuf};

/// Where one task may read controller files from.
pub(crate) struct ControllerFiles<'a> {
    playbook_dir: &'a Path,
    role_dir: Option<&'a Path>,
}

/// `first_found`'s `files` under each of its `paths` (the files as they
/// are without paths).
pub(crate) fn files_under(files: &[String], paths: &[String]) -> Vec<String> {
    if paths.is_empty() {
        return files.to_vec();
    }
    paths
        .iter()
        .flat_map(|p| files.iter().map(move |f| format!("{p}/{f}")))
        .collect()
}

impl<'a> ControllerFiles<'a> {
    /// The files a task of the role at `role_dir` (if any) in the
    /// playbook at `playbook_dir` may read.
    pub fn new(playbook_dir: &'a Path, role_dir: Option<&'a Path>) -> ControllerFiles<'a> {
        ControllerFiles {
            playbook_dir,
            role_dir,
        }
    }

    /// The folders a relative name is looked for in, in order, for a
    /// `sub` folder kind (`files`, `templates`, `vars`).
    fn bases(&self, sub: &str) -> Vec<PathBuf> {
        self.role_dir
            .into_iter()
            .chain([self.playbook_dir])
            .flat_map(|dir| [dir.join(sub), dir.to_path_buf()])
            .collect()
    }

    /// Refuses a path outside the playbook's folder and the role's.
    fn confined(&self, path: &Path) -> Result<PathBuf, String> {
        let real = path
            .canonicalize()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let roots = self
            .role_dir
            .into_iter()
            .chain([self.playbook_dir])
            .filter_map(|root| root.canonicalize().ok());
        for root in roots {
            if real.starts_with(&root) {
                return Ok(real);
            }
        }
        Err(format!(
            "{} is outside the playbook's folder and its role's; Capstan reads only files \
             beside the playbook or role",
            path.display()
        ))
    }

    /// The first of `names` (relative to the places of `sub`, or absolute)
    /// that is a file; the error names where it looked.
    pub fn first_found(&self, sub: &str, names: &[String]) -> Result<PathBuf, String> {
        let mut looked = Vec::new();
        for name in names {
            let path = Path::new(name);
            let candidates = if path.is_absolute() {
                vec![path.to_path_buf()]
            } else {
                self.bases(sub).into_iter().map(|b| b.join(path)).collect()
            };
            for candidate in candidates {
                if candidate.is_file() {
                    return self.confined(&candidate);
                }
                looked.push(candidate.display().to_string());
            }
        }
        Err(format!(
            "none of {} is there (looked in {})",
            names.join(", "),
            looked.join(", ")
        ))
    }

    /// Ansible's `first_found` (the lookup and `with_first_found`): the
    /// first of `names` among the `files` places; `None` when none is
    /// there and `skip` says so, else the error naming where it looked.
    pub fn first_found_or_skip(
        &self,
        names: &[String],
        skip: bool,
    ) -> Result<Option<PathBuf>, String> {
        match self.first_found("files", names) {
            Ok(path) => Ok(Some(path)),
            Err(_) if skip => Ok(None),
            Err(why) => Err(why),
        }
    }

    /// The files matching `pattern` (`*`, `?`, `[a-z]` in its last part)
    /// in the first place of `sub` whose folder exists, sorted.
    pub fn glob(&self, sub: &str, pattern: &str) -> Result<Vec<String>, String> {
        let path = Path::new(pattern);
        let (dir, wanted) = match (path.parent(), path.file_name()) {
            (Some(dir), Some(name)) => (dir, name.to_string_lossy().into_owned()),
            _ => return Ok(Vec::new()),
        };
        let candidates = if path.is_absolute() {
            vec![dir.to_path_buf()]
        } else {
            self.bases(sub).into_iter().map(|b| b.join(dir)).collect()
        };
        let Some(folder) = candidates.into_iter().find(|c| c.is_dir()) else {
            return Ok(Vec::new());
        };
        let folder = self.confined(&folder)?;
        let listing = std::fs::read_dir(&folder)
            .map_err(|e| format!("cannot read {}: {e}", folder.display()))?;
        let mut found: Vec<String> = listing
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_file())
            .filter(|entry| glob_matches(&wanted, &entry.file_name().to_string_lossy()))
            .map(|entry| entry.path().display().to_string())
            .collect();
        found.sort();
        Ok(found)
    }
}

/// Whether a file name matches a shell pattern (`*`, `?`, `[abc]`,
/// `[a-z]`, `[!x]`); a leading dot is matched only by a dot.
pub(crate) fn glob_matches(pattern: &str, name: &str) -> bool {
    if name.starts_with('.') && !pattern.starts_with('.') {
        return false;
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    matches_from(&pattern, &name)
}

fn matches_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| matches_from(rest, &name[i..])),
        Some(('?', rest)) => !name.is_empty() && matches_from(rest, &name[1..]),
        Some(('[', rest)) => {
            let Some(close) = rest.iter().skip(1).position(|c| *c == ']').map(|p| p + 1) else {
                return name.first() == Some(&'[') && matches_from(rest, &name[1..]);
            };
            let Some(&c) = name.first() else {
                return false;
            };
            let (negated, class) = match rest[..close].split_first() {
                Some(('!' | '^', class)) => (true, class),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == c;
                    i += 1;
                }
            }
            hit != negated && matches_from(&rest[close + 1..], &name[1..])
        }
        Some((literal, rest)) => name.first() == Some(literal) && matches_from(rest, &name[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_patterns_match_as_a_shell_does() {
        assert!(glob_matches("*.conf", "site.conf"));
        assert!(!glob_matches("*.conf", "site.conf.bak"));
        assert!(!glob_matches("*", ".hidden"));
        assert!(glob_matches(".*", ".hidden"));
        assert!(glob_matches("web-?.yml", "web-1.yml"));
        assert!(glob_matches("web-[0-9].yml", "web-7.yml"));
        assert!(!glob_matches("web-[!0-9].yml", "web-7.yml"));
        assert!(glob_matches("[ab]*", "beta"));
    }

    #[test]
    fn globs_and_lookups_stay_beside_the_playbook() {
        let tmp = tempfile::tempdir().unwrap();
        let book = tmp.path().join("book");
        std::fs::create_dir_all(book.join("files/conf.d")).unwrap();
        std::fs::write(book.join("files/conf.d/b.conf"), "b").unwrap();
        std::fs::write(book.join("files/conf.d/a.conf"), "a").unwrap();
        std::fs::write(book.join("files/conf.d/notes.txt"), "n").unwrap();
        std::fs::write(tmp.path().join("secret.conf"), "s").unwrap();
        std::os::unix::fs::symlink(tmp.path(), book.join("files/out")).unwrap();
        let files = ControllerFiles::new(&book, None);
        let found = files.glob("files", "conf.d/*.conf").unwrap();
        assert_eq!(found.len(), 2);
        assert!(found[0].ends_with("a.conf") && found[1].ends_with("b.conf"));
        let err = files.glob("files", "../../*.conf").unwrap_err();
        assert!(
            err.to_string().contains("outside the playbook's folder"),
            "{err}"
        );
        let err = files.glob("files", "out/*.conf").unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        let err = files
            .first_found("files", &["out/secret.conf".into()])
            .unwrap_err();
        assert!(err.to_string().contains("outside"), "{err}");
        let found = files
            .first_found("files", &["missing.conf".into(), "conf.d/b.conf".into()])
            .unwrap();
        assert!(found.ends_with("b.conf"));
        let err = files.first_found("files", &["gone".into()]).unwrap_err();
        assert!(err.to_string().contains("none of gone"), "{err}");
    }
}
