//! `group_vars/` and `host_vars/` folders, as Ansible reads them beside an
//! inventory file and beside a playbook. Each entry is a file named after
//! the group or host (`web.yml`, `web.yaml`, `web.json` or just `web`) or a
//! folder of that name whose files are read in name order. Files with other
//! extensions and hidden ones are skipped, as Ansible skips them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use super::InventoryError;
use crate::vault::Vault;
use capstan_yaml::{TopLevel, Yaml};

/// The extensions Ansible reads in a vars folder; `""` is a bare name.
const EXTENSIONS: [&str; 4] = ["yml", "yaml", "json", ""];

/// Vars folders are never deeper than this.
const MAX_DEPTH: usize = 8;

/// Variables from the `group_vars/` and `host_vars/` folders of several
/// places (beside the inventory, then beside the playbook), kept apart:
/// Ansible ranks every place's `all` below any place's other groups.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct VarFolders {
    /// One entry per place, weakest first.
    pub places: Vec<PlaceVars>,
}

/// The `group_vars/` and `host_vars/` folders of one place.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PlaceVars {
    /// Each group's variables.
    pub groups: BTreeMap<String, Map<String, Json>>,
    /// Each host's variables.
    pub hosts: BTreeMap<String, Map<String, Json>>,
}

impl VarFolders {
    /// Reads `group_vars/` and `host_vars/` in each of `dirs`, weakest
    /// first (the playbook's win over the inventory's). A folder that does
    /// not exist adds nothing; a place named twice is read once.
    pub fn read(dirs: &[PathBuf], vault: &Vault) -> Result<Self, InventoryError> {
        let mut folders = Self::default();
        let mut seen: Vec<PathBuf> = Vec::new();
        for dir in dirs {
            let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            if seen.contains(&dir) {
                continue;
            }
            let mut place = PlaceVars::default();
            read_kind(&dir.join("group_vars"), &mut place.groups, vault)?;
            read_kind(&dir.join("host_vars"), &mut place.hosts, vault)?;
            if place != PlaceVars::default() {
                folders.places.push(place);
            }
            seen.push(dir);
        }
        Ok(folders)
    }

    /// True when no folder gave a variable.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// What the folders give a host in `groups` (ranked, weakest first,
    /// without `all`) on top of `inventory` (what the inventory file gives
    /// every group and the host, weakest first), in Ansible's order: the
    /// file's groups, every place's `all`, every place's other groups,
    /// the file's host, every place's host.
    pub fn layer(
        &self,
        host: &str,
        groups: &[&str],
        file_groups: Map<String, Json>,
        file_host: &Map<String, Json>,
    ) -> Map<String, Json> {
        let mut vars = file_groups;
        for found in self.places.iter().filter_map(|p| p.groups.get("all")) {
            vars.extend(found.clone());
        }
        for place in &self.places {
            for group in groups {
                if let Some(found) = place.groups.get(*group) {
                    vars.extend(found.clone());
                }
            }
        }
        vars.extend(file_host.clone());
        for place in &self.places {
            if let Some(found) = place.hosts.get(host) {
                vars.extend(found.clone());
            }
        }
        vars
    }
}

/// Reads one `group_vars` or `host_vars` folder into `into`, by entry name.
fn read_kind(
    folder: &Path,
    into: &mut BTreeMap<String, Map<String, Json>>,
    vault: &Vault,
) -> Result<(), InventoryError> {
    for (name, path) in entries(folder)? {
        let mut vars = Map::new();
        if path.is_dir() {
            for file in files_under(&path, 0)? {
                vars.extend(read_vars(&file, vault)?);
            }
        } else {
            vars = read_vars(&path, vault)?;
        }
        into.entry(name).or_default().extend(vars);
    }
    Ok(())
}

/// The entries of a vars folder Ansible would read, sorted, with the group
/// or host each is for.
fn entries(folder: &Path) -> Result<Vec<(String, PathBuf)>, InventoryError> {
    let Ok(listing) = std::fs::read_dir(folder) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| unreadable(folder, &e))?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if file_name.starts_with('.') {
            continue;
        }
        let name = if path.is_dir() {
            file_name
        } else {
            match file_name.rsplit_once('.') {
                Some((stem, ext)) if EXTENSIONS.contains(&ext) => stem.to_string(),
                Some(_) => continue,
                None => file_name,
            }
        };
        found.push((name, path));
    }
    found.sort();
    Ok(found)
}

/// The vars files inside an entry's folder, depth first in name order.
fn files_under(folder: &Path, depth: usize) -> Result<Vec<PathBuf>, InventoryError> {
    if depth > MAX_DEPTH {
        return Err(InventoryError::Read(format!(
            "{}: vars folders nest deeper than {MAX_DEPTH}",
            folder.display()
        )));
    }
    let listing = std::fs::read_dir(folder).map_err(|e| unreadable(folder, &e))?;
    let mut paths: Vec<PathBuf> = listing
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            let ext = p.extension().unwrap_or_default().to_string_lossy();
            !name.starts_with('.') && (p.is_dir() || EXTENSIONS.contains(&ext.as_ref()))
        })
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            files.extend(files_under(&path, depth + 1)?);
        } else {
            files.push(path);
        }
    }
    Ok(files)
}

/// One vars file: a mapping (or nothing at all); a vault-encrypted file
/// or value is opened with `vault`.
fn read_vars(path: &Path, vault: &Vault) -> Result<Map<String, Json>, InventoryError> {
    let text = capstan_yaml::read_file(path, "vars file").map_err(InventoryError::Read)?;
    let shown = path.display().to_string();
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let node = vault
        .parse_yaml(&shown, &text, TopLevel::Any, "vars file")
        .map_err(|e| InventoryError::Read(e.to_string()))?;
    match (&node.value, node.to_json()) {
        (Yaml::Null, _) => Ok(Map::new()),
        (_, Json::Object(map)) => Ok(map),
        _ => Err(InventoryError::Read(format!(
            "{shown}:{}:{}: a vars file must be a mapping of names to values, not {}",
            node.pos.line,
            node.pos.column,
            node.kind()
        ))),
    }
}

fn unreadable(path: &Path, e: &std::io::Error) -> InventoryError {
    InventoryError::Read(format!("cannot read {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn files_folders_and_later_folders_win() {
        let tmp = tempfile::tempdir().unwrap();
        let inv = tmp.path().join("inv");
        let book = tmp.path().join("book");
        write(&inv.join("group_vars/all.yml"), "port: 80\nname: inv\n");
        write(&inv.join("group_vars/web/10-a.yml"), "a: 1\nb: 1\n");
        write(&inv.join("group_vars/web/20-b.yaml"), "b: 2\n");
        write(&inv.join("group_vars/web/notes.md"), "not: read\n");
        write(&inv.join("group_vars/.hidden.yml"), "not: read\n");
        write(&inv.join("host_vars/web-1"), "own: true\n");
        write(&inv.join("host_vars/web-2.json"), "{\"own\": 2}");
        write(&book.join("group_vars/all.yaml"), "name: book\n");
        write(&book.join("group_vars/empty.yml"), "");
        write(&book.join("group_vars/db.yml"), "b: 3\n");
        let folders = VarFolders::read(&[inv, book], &Vault::default()).unwrap();
        let [inv, book] = &folders.places[..] else {
            panic!("two places: {folders:?}")
        };
        let web = &inv.groups["web"];
        assert_eq!((web["a"].clone(), web["b"].clone()), (1.into(), 2.into()));
        assert!(!web.contains_key("not"));
        assert!(!inv.groups.contains_key(".hidden"));
        assert!(book.groups["empty"].is_empty());
        assert_eq!(inv.hosts["web-2"]["own"], 2);

        let file_groups = Map::from_iter([("port".to_string(), Json::from(1))]);
        let file_host = Map::from_iter([("own".to_string(), Json::from("file"))]);
        let got = folders.layer("web-1", &["web", "db"], file_groups, &file_host);
        assert_eq!(
            got["port"], 80,
            "any group_vars/all beats the file's groups"
        );
        assert_eq!(
            got["name"], "book",
            "the playbook's all beats the inventory's"
        );
        assert_eq!(got["b"], 3, "the playbook's groups beat the inventory's");
        assert_eq!(got["own"], true, "host_vars beat the file's host vars");
        let got = folders.layer("web-3", &["web"], Map::new(), &file_host);
        assert_eq!(
            (got["b"].clone(), got["own"].clone()),
            (2.into(), "file".into())
        );
    }

    #[test]
    fn a_file_that_is_not_a_mapping_is_named() {
        let tmp = tempfile::tempdir().unwrap();
        write(&tmp.path().join("group_vars/web.yml"), "- a\n- b\n");
        let err = VarFolders::read(&[tmp.path().to_path_buf()], &Vault::default()).unwrap_err();
        assert!(err.to_string().contains("web.yml:1:1"), "{err}");
        write(
            &tmp.path().join("group_vars/web.yml"),
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
        );
        let err = VarFolders::read(&[tmp.path().to_path_buf()], &Vault::default()).unwrap_err();
        assert!(err.to_string().contains("no vault password"), "{err}");
    }
}
