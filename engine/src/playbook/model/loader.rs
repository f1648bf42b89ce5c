//! The files a playbook reads beyond itself: task files it imports, found
//! beside the file that imports them or beside the playbook, none read
//! again while it is being read; and the folders of the roles it names.

use std::sync::Arc;

use crate::vault::Vault;
use std::path::{Path, PathBuf};

use super::PlaybookError;
use capstan_yaml::{Node, Pos, TopLevel};

/// Reads the task files a playbook imports: each found beside the file
/// that imports it, or else beside the playbook, and none imported again
/// while it is being read (a cycle).
pub(super) struct Loader {
    /// The playbook's folder.
    base: PathBuf,
    /// The files being read, the playbook first.
    reading: Vec<PathBuf>,
    /// Where roles are looked for after the playbook's `roles/` folder
    /// ([`roles_search_path`]).
    roles_path: Arc<Vec<PathBuf>>,
    /// What the roles of the play being read bring to it.
    pub(super) play_roles: super::roles::PlayRoles,
    /// Opens vault-encrypted files and values.
    pub(super) vault: Arc<Vault>,
    /// The folders of the roles whose files are being read, innermost
    /// last: a task file one of them names is looked for in its `tasks/`.
    role_dirs: Vec<PathBuf>,
}

impl Loader {
    pub(super) fn new(playbook: &Path, vault: Arc<Vault>, roles_path: Arc<Vec<PathBuf>>) -> Loader {
        Loader {
            base: folder_of(playbook),
            reading: vec![playbook.to_path_buf()],
            roles_path,
            play_roles: Default::default(),
            vault,
            role_dirs: Vec::new(),
        }
    }

    /// The folder of role `name` (a role named at `at`): a path (with a
    /// `/`) from the playbook's folder, or a name looked for in the
    /// playbook's `roles/`, the roles path, then the playbook's folder.
    pub(super) fn find_role(&self, name: &str, at: &Pos) -> Result<PathBuf, PlaybookError> {
        find_role(&self.base, &self.roles_path, name)
            .map_err(|message| PlaybookError::at(at, message))
    }

    /// The file `name` (an `import_tasks:` at `at`) names.
    pub(super) fn find(&self, name: &str, at: &Pos) -> Result<PathBuf, PlaybookError> {
        let role = self.role_dirs.last().map(PathBuf::as_path);
        find_task_file(name, &self.current_dir(), role, &self.base)
            .map_err(|message| PlaybookError::at(at, message))
    }

    /// The folder of the file being read.
    pub(super) fn current_dir(&self) -> PathBuf {
        self.reading
            .last()
            .map(|f| folder_of(f))
            .unwrap_or_else(|| self.base.clone())
    }

    /// The playbook's folder.
    pub(super) fn base(&self) -> &Path {
        &self.base
    }

    /// Where roles are looked for after the playbook's `roles/`.
    pub(super) fn roles_path(&self) -> Arc<Vec<PathBuf>> {
        self.roles_path.clone()
    }

    /// A loader for a playbook in `base` that is reading nothing yet (a
    /// task file read on its own, when an include reaches it).
    pub(super) fn within(base: &Path, vault: Arc<Vault>, roles_path: Arc<Vec<PathBuf>>) -> Loader {
        Loader {
            base: base.to_path_buf(),
            reading: Vec::new(),
            roles_path,
            play_roles: Default::default(),
            vault,
            role_dirs: Vec::new(),
        }
    }

    /// [`Loader::read_tasks`] for a file of the role in `role_dir`: the
    /// task files it names are looked for in the role's `tasks/` too (a
    /// handler's `include_tasks`, say).
    pub(super) fn read_role_tasks<T>(
        &mut self,
        role_dir: &Path,
        path: &Path,
        at: &Pos,
        read: impl FnOnce(&mut Loader, &Node) -> Result<T, PlaybookError>,
    ) -> Result<T, PlaybookError> {
        self.role_dirs.push(role_dir.to_path_buf());
        let read = self.read_tasks(path, at, read);
        self.role_dirs.pop();
        read
    }

    /// Reads the task list in `path` with `read`, refusing a file that is
    /// already being read (it imports itself, directly or not).
    pub(super) fn read_tasks<T>(
        &mut self,
        path: &Path,
        at: &Pos,
        read: impl FnOnce(&mut Loader, &Node) -> Result<T, PlaybookError>,
    ) -> Result<T, PlaybookError> {
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
        };
        if self.reading.iter().any(|f| same(f, path)) {
            let chain: Vec<String> = self
                .reading
                .iter()
                .chain([&path.to_path_buf()])
                .map(|f| f.display().to_string())
                .collect();
            return Err(PlaybookError::at(
                at,
                format!(
                    "task files import each other in a circle: {}",
                    chain.join(" -> ")
                ),
            ));
        }
        let node = match self.vault.read_yaml(path, TopLevel::Sequence, "task file") {
            Ok(node) => node,
            Err(crate::vault::ReadError::File(e)) => return Err(PlaybookError::at(at, e)),
            Err(crate::vault::ReadError::Yaml(e)) => return Err(e.into()),
        };
        self.reading.push(path.to_path_buf());
        let read = read(self, &node);
        self.reading.pop();
        read
    }
}

/// The folder a file is in (`.` for a bare name).
pub(crate) fn folder_of(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf()
}

/// Where roles are looked for after a playbook's `roles/` folder:
/// `ANSIBLE_ROLES_PATH` (folders separated by `:`), or else `configured`
/// (an ansible.cfg's `roles_path`); then the folders Ansible looks in by
/// default.
pub fn roles_search_path(configured: &[PathBuf]) -> Vec<PathBuf> {
    let mut path: Vec<PathBuf> = match std::env::var_os("ANSIBLE_ROLES_PATH") {
        Some(v) => std::env::split_paths(&v).collect(),
        None => configured.to_vec(),
    };
    if let Some(home) = std::env::var_os("HOME") {
        path.push(PathBuf::from(home).join(".ansible/roles"));
    }
    path.extend(["/usr/share/ansible/roles", "/etc/ansible/roles"].map(PathBuf::from));
    path
}

/// The folder of role `name` for a playbook in `base`: a path (with a
/// `/`) from the playbook's folder, or a name looked for in the
/// playbook's `roles/`, `roles_path`, then the playbook's folder; an error
/// names where it looked.
pub(crate) fn find_role(
    base: &Path,
    roles_path: &[PathBuf],
    name: &str,
) -> Result<PathBuf, String> {
    let places: Vec<PathBuf> = if name.contains('/') {
        vec![base.join(name)]
    } else {
        std::iter::once(base.join("roles"))
            .chain(roles_path.iter().cloned())
            .chain([base.to_path_buf()])
            .map(|dir| dir.join(name))
            .chain(collection_role_places(base, name))
            .collect()
    };
    places.iter().find(|p| p.is_dir()).cloned().ok_or_else(|| {
        let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
        format!("no role `{name}` (looked in {})", looked.join(", "))
    })
}

/// Where a collection's role `NAMESPACE.COLLECTION.ROLE` may be, as
/// `ansible-galaxy collection install` puts it: under the playbook's
/// `collections/`, `ANSIBLE_COLLECTIONS_PATH`, `~/.ansible/collections`
/// and `/usr/share/ansible/collections`, each in
/// `ansible_collections/NAMESPACE/COLLECTION/roles/ROLE`. None for a
/// name of fewer than three parts (a galaxy role's `owner.role`).
fn collection_role_places(base: &Path, name: &str) -> Vec<PathBuf> {
    let parts: Vec<&str> = name.splitn(3, '.').collect();
    let [namespace, collection, role] = parts[..] else {
        return Vec::new();
    };
    if [namespace, collection, role].iter().any(|p| p.is_empty()) {
        return Vec::new();
    }
    let mut roots = vec![base.join("collections")];
    for variable in ["ANSIBLE_COLLECTIONS_PATH", "ANSIBLE_COLLECTIONS_PATHS"] {
        if let Some(value) = std::env::var_os(variable) {
            roots.extend(std::env::split_paths(&value));
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        roots.push(PathBuf::from(home).join(".ansible/collections"));
    }
    roots.push(PathBuf::from("/usr/share/ansible/collections"));
    roots
        .into_iter()
        .map(|root| {
            root.join("ansible_collections")
                .join(namespace)
                .join(collection)
                .join("roles")
                .join(role)
        })
        .collect()
}

/// The task file `name` names, from a file in `dir`: beside it, in the
/// role's `tasks/` folder, or beside the playbook (in `base`); an error
/// names where it looked.
pub(crate) fn find_task_file(
    name: &str,
    dir: &Path,
    role_dir: Option<&Path>,
    base: &Path,
) -> Result<PathBuf, String> {
    let path = Path::new(name);
    let places: Vec<PathBuf> = if path.is_absolute() {
        vec![path.to_path_buf()]
    } else {
        [dir.to_path_buf()]
            .into_iter()
            .chain(role_dir.map(|r| r.join("tasks")))
            .chain([base.to_path_buf()])
            .map(|d| d.join(name))
            .collect()
    };
    places.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let looked: Vec<String> = places.iter().map(|p| p.display().to_string()).collect();
        format!(
            "no task file `{name}` (looked for {})",
            looked.join(" and ")
        )
    })
}

/// A file name with templates as literal parts and wildcards: each
/// `{{ ... }}` stands for any text.
pub(crate) fn wildcards(name: &str) -> Vec<Option<String>> {
    let mut parts = Vec::new();
    let mut rest = name;
    while let Some(start) = rest.find("{{") {
        if start > 0 {
            parts.push(Some(rest[..start].to_string()));
        }
        parts.push(None);
        rest = rest[start..]
            .find("}}")
            .map_or("", |end| &rest[start + end + 2..]);
    }
    if !rest.is_empty() {
        parts.push(Some(rest.to_string()));
    }
    parts
}

/// Whether `text` matches `pattern` (from [`wildcards`]).
pub(crate) fn matches(pattern: &[Option<String>], text: &str) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((Some(literal), rest)) => text
            .strip_prefix(literal.as_str())
            .is_some_and(|tail| matches(rest, tail)),
        Some((None, rest)) => (0..=text.len())
            .filter(|&i| text.is_char_boundary(i))
            .any(|i| matches(rest, &text[i..])),
    }
}
