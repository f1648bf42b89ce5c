//! Facts kept between runs, as Ansible's `jsonfile` fact cache keeps
//! them: one JSON file per host, `FOLDER/PREFIXHOST`, read when a run
//! starts (unless older than the timeout) and written when it ends. What
//! `setup` gathered and what `set_fact` set with `cacheable: true` are
//! kept; `--flush-cache` forgets them first.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value as Json};

/// Where and for how long facts are kept (`fact_caching = jsonfile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactCache {
    /// `fact_caching_connection`: the folder of the files.
    pub dir: PathBuf,
    /// `fact_caching_prefix`: put before each host's name.
    pub prefix: String,
    /// `fact_caching_timeout`: older files are not read; zero keeps them
    /// for ever.
    pub timeout: Duration,
}

/// Ansible's default `fact_caching_timeout`: a day.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(86_400);

impl FactCache {
    /// The file of `host`'s facts; None for a name that is not a plain
    /// file name (it would reach outside the folder).
    fn file_of(&self, host: &str) -> Option<PathBuf> {
        let name = format!("{}{host}", self.prefix);
        let plain =
            !host.is_empty() && !name.contains(['/', '\\', '\0']) && name != "." && name != "..";
        plain.then(|| self.dir.join(name))
    }

    /// The facts kept for `host`: empty when there are none, they are
    /// older than the timeout, or the host's name cannot be a file name.
    pub fn load(&self, host: &str) -> Result<Map<String, Json>, String> {
        let Some(file) = self.file_of(host) else {
            return Ok(Map::new());
        };
        let meta = match std::fs::metadata(&file) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Map::new()),
            Err(e) => return Err(format!("fact cache {}: {e}", file.display())),
        };
        let age = meta
            .modified()
            .ok()
            .and_then(|at| SystemTime::now().duration_since(at).ok())
            .unwrap_or_default();
        if !self.timeout.is_zero() && age > self.timeout {
            return Ok(Map::new());
        }
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("fact cache {}: {e}", file.display()))?;
        match serde_json::from_str(&text) {
            Ok(Json::Object(facts)) => Ok(facts),
            Ok(_) => Err(format!(
                "fact cache {}: not a JSON object of facts",
                file.display()
            )),
            Err(e) => Err(format!("fact cache {}: not JSON: {e}", file.display())),
        }
    }

    /// Keeps `facts` for `host` (written whole, then renamed into place,
    /// readable by its owner alone).
    pub fn store(&self, host: &str, facts: &Map<String, Json>) -> Result<(), String> {
        let Some(file) = self.file_of(host) else {
            return Ok(());
        };
        let failed = |e: std::io::Error| format!("fact cache {}: {e}", file.display());
        std::fs::create_dir_all(&self.dir).map_err(failed)?;
        let text = serde_json::to_string_pretty(facts).map_err(|e| e.to_string())?;
        let temp = self
            .dir
            .join(format!(".{}{host}.{}.tmp", self.prefix, std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options
            .open(&temp)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
            .and_then(|()| std::fs::rename(&temp, &file));
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(failed)
    }

    /// Forgets what is kept for `host` (`--flush-cache`).
    pub fn flush(&self, host: &str) -> Result<(), String> {
        let Some(file) = self.file_of(host) else {
            return Ok(());
        };
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("fact cache {}: {e}", file.display()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(dir: &std::path::Path) -> FactCache {
        FactCache {
            dir: dir.join("facts"),
            prefix: "prefix_".into(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    #[test]
    fn facts_round_trip_and_flush() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        assert!(cache.load("web1").unwrap().is_empty());
        let facts: Map<String, Json> =
            serde_json::from_str(r#"{"ansible_foobar": "kept", "n": 3}"#).unwrap();
        cache.store("web1", &facts).unwrap();
        assert!(dir.path().join("facts/prefix_web1").is_file());
        assert_eq!(cache.load("web1").unwrap(), facts);
        cache.flush("web1").unwrap();
        assert!(cache.load("web1").unwrap().is_empty());
        cache.flush("web1").unwrap();
    }

    #[test]
    fn a_host_name_never_reaches_outside_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let cache = FactCache {
            prefix: String::new(),
            ..cache(dir.path())
        };
        cache.store("../escape", &Map::new()).unwrap();
        cache.store("..", &Map::new()).unwrap();
        assert!(!dir.path().join("escape").exists());
        assert!(cache.load("../escape").unwrap().is_empty());
    }

    #[test]
    fn a_damaged_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cache = cache(dir.path());
        std::fs::create_dir_all(&cache.dir).unwrap();
        std::fs::write(cache.dir.join("prefix_web1"), "{not json").unwrap();
        let error = cache.load("web1").unwrap_err();
        assert!(
            error.contains("prefix_web1") && error.contains("not JSON"),
            "{error}"
        );
    }
}
