//! What a run needs before it starts: the plugins its modules use, the
//! vars files it can open now, and each host's magic variables.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use super::model::{Include, Playbook, Step, all_tasks};
use super::modules::Module;
use super::template::Templates;
use super::{PlaybookError, PlaybookOptions};
use crate::vault::Vault;

/// Names of the plugins a playbook's modules need.
pub(crate) fn plugins_needed(playbook: &Playbook) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |plugin: Option<(&str, &str)>| {
        if let Some((plugin, _)) = plugin
            && !names.iter().any(|n| n == plugin)
        {
            names.push(plugin.to_string());
        }
    };
    for play in &playbook.plays {
        if play.gathers_facts() {
            add(Module::Setup.plugin_action());
        }
        for task in play.all_tasks().into_iter().chain(play.all_handler_tasks()) {
            add(task.plugin_action());
        }
    }
    names
}

/// The plugins that task files read only during the run may need (an
/// include whose name has a template, `include_tasks: "{{ os }}.yml"`):
/// those of the files its name could match beside it (each read now;
/// one that does not read is left out), or, when none matches, those of
/// every module Capstan knows; the same for a task whose module is named
/// by a template. The run prepares those that are installed.
pub(crate) fn plugins_maybe_needed(playbook: &Playbook, vault: &Arc<Vault>) -> Vec<String> {
    let mut names = Vec::new();
    for play in &playbook.plays {
        for steps in play.sections() {
            late_include_plugins(steps, 0, vault, &mut names);
        }
        for handler in play.handlers.iter().chain(&play.included_handlers) {
            if let Some(include) = &handler.include {
                late_include_plugin(include, 0, vault, &mut names);
            }
        }
        let mut tasks = play.all_tasks().into_iter().chain(play.all_handler_tasks());
        if tasks.any(|t| t.module == Module::Templated) {
            every_module_plugin(&mut names);
        }
    }
    names
}

/// Adds the plugin of every module Capstan knows.
fn every_module_plugin(names: &mut Vec<String>) {
    for name in super::modules::NAMES {
        if let Some((plugin, _)) =
            super::modules::resolve(name).and_then(|module| module.plugin_action())
            && !names.iter().any(|n| n == plugin)
        {
            names.push(plugin.to_string());
        }
    }
}

/// How deep late includes inside late includes are followed.
const LATE_INCLUDE_DEPTH: usize = 4;

fn late_include_plugins(steps: &[Step], depth: usize, vault: &Arc<Vault>, names: &mut Vec<String>) {
    for step in steps {
        match step {
            Step::Task(_) => {}
            Step::Block(block) => {
                for steps in [&block.body, &block.rescue, &block.always] {
                    late_include_plugins(steps, depth, vault, names);
                }
            }
            Step::Include(include) => late_include_plugin(include, depth, vault, names),
        }
    }
}

/// [`late_include_plugins`] for one include.
fn late_include_plugin(
    include: &Include,
    depth: usize,
    vault: &Arc<Vault>,
    names: &mut Vec<String>,
) {
    if let Some(steps) = &include.steps {
        return late_include_plugins(steps, depth, vault, names);
    }
    let candidates = include.candidate_files();
    if candidates.is_empty() || depth >= LATE_INCLUDE_DEPTH {
        return every_module_plugin(names);
    }
    for file in candidates {
        let Ok(steps) = include.read(&file, vault) else {
            continue;
        };
        for task in all_tasks(&steps) {
            if let Some((plugin, _)) = task.plugin_action()
                && !names.iter().any(|n| n == plugin)
            {
                names.push(plugin.to_string());
            }
            if task.module == Module::Templated {
                every_module_plugin(names);
            }
        }
        late_include_plugins(&steps, depth + 1, vault, names);
    }
}

/// Opens every vars file a play names without a template, so a missing
/// vault password or a wrong one is named (with the file) before any job
/// is recorded.
pub(crate) fn check_vars_files(playbook: &Playbook, vault: &Vault) -> Result<(), PlaybookError> {
    for play in &playbook.plays {
        for (file, pos) in &play.vars_files {
            if Templates::is_template(file) {
                continue;
            }
            let path = playbook.dir.join(file);
            if !path.is_file() {
                continue;
            }
            match vault.read_yaml(&path, capstan_yaml::TopLevel::Mapping, "vars file") {
                Ok(_) => {}
                Err(crate::vault::ReadError::File(e)) => return Err(PlaybookError::at(pos, e)),
                Err(crate::vault::ReadError::Yaml(e)) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

/// Files the `hostvars` scan reads at most, and the largest it reads.
const HOSTVARS_SCAN_FILES: usize = 5_000;
const HOSTVARS_SCAN_BYTES: u64 = 1 << 20;

/// Whether anything the run may render names `hostvars`: a file under the
/// playbook's folder or one of its roles' (task files, vars, templates).
/// Only then does each task gather every host's variables for it.
pub(crate) fn mentions_hostvars(playbook: &Playbook) -> bool {
    // A role named by a template is only found during the run: assume it may.
    if playbook
        .plays
        .iter()
        .any(|play| play.sections().into_iter().any(has_late_role))
    {
        return true;
    }
    let mut dirs: Vec<std::path::PathBuf> = vec![playbook.dir.clone()];
    for play in &playbook.plays {
        for task in play.all_tasks().into_iter().chain(play.all_handler_tasks()) {
            if let Some(role) = &task.role
                && !dirs.contains(&role.path)
            {
                dirs.push(role.path.clone());
            }
        }
    }
    let mut budget = HOSTVARS_SCAN_FILES;
    dirs.iter()
        .any(|dir| folder_mentions(dir, "hostvars", &mut budget, 0))
}

/// Whether `steps` hold an `include_role` whose role is read only when a
/// host reaches it.
fn has_late_role(steps: &[Step]) -> bool {
    steps.iter().any(|step| match step {
        Step::Task(_) => false,
        Step::Block(block) => [&block.body, &block.rescue, &block.always]
            .into_iter()
            .any(|steps| has_late_role(steps)),
        Step::Include(include) => match &include.steps {
            Some(steps) => has_late_role(steps),
            None => include.included_role.is_some(),
        },
    })
}

fn folder_mentions(dir: &std::path::Path, word: &str, budget: &mut usize, depth: usize) -> bool {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return false;
    };
    for entry in listing.flatten() {
        if *budget == 0 || depth > 12 {
            // Past the limits: assume it may, rather than miss it.
            return true;
        }
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if hidden || kind.is_symlink() {
            continue;
        }
        if kind.is_dir() {
            if folder_mentions(&path, word, budget, depth + 1) {
                return true;
            }
            continue;
        }
        *budget -= 1;
        let small = entry
            .metadata()
            .is_ok_and(|m| m.len() <= HOSTVARS_SCAN_BYTES);
        if small
            && let Ok(bytes) = std::fs::read(&path)
            && bytes.windows(word.len()).any(|w| w == word.as_bytes())
        {
            return true;
        }
    }
    false
}

/// Magic variables of each host: its name, groups and the run's modes.
pub(crate) fn magic_vars(
    host: &crate::inventory::Host,
    all: &[crate::inventory::Host],
    options: &PlaybookOptions,
    dir: &std::path::Path,
) -> Map<String, Json> {
    let mut vars: Map<String, Json> = host.vars.clone().into_iter().collect();
    let mut group_names: Vec<String> = host.groups.clone();
    if let Some(env) = &host.environment {
        group_names.push(env.clone());
    }
    group_names.sort();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for h in all {
        groups.entry("all".into()).or_default().push(h.name.clone());
        for g in h.groups.iter().chain(h.environment.iter()) {
            groups.entry(g.clone()).or_default().push(h.name.clone());
        }
    }
    vars.insert("inventory_hostname".into(), json!(host.name));
    vars.insert(
        "inventory_hostname_short".into(),
        json!(host.name.split('.').next().unwrap_or(&host.name)),
    );
    vars.entry("ansible_host").or_insert(json!(host.address));
    vars.entry("ansible_port").or_insert(json!(host.port));
    vars.entry("ansible_user").or_insert(json!(host.user));
    vars.insert("group_names".into(), json!(group_names));
    vars.insert("groups".into(), json!(groups));
    vars.insert("ansible_check_mode".into(), json!(options.check));
    vars.insert("ansible_diff_mode".into(), json!(options.diff));
    // The run's --tags (`all` when none) and --skip-tags, as Ansible's.
    let run_tags = match options.tags.is_empty() {
        true => vec!["all".to_string()],
        false => options.tags.clone(),
    };
    vars.insert("ansible_run_tags".into(), json!(run_tags));
    vars.insert("ansible_skip_tags".into(), json!(options.skip_tags));
    vars.insert("playbook_dir".into(), json!(dir.display().to_string()));
    // A role's tasks have their own (the role's folder first).
    vars.insert(
        "ansible_search_path".into(),
        json!([dir.display().to_string()]),
    );
    vars.insert("omit".into(), json!(OMIT));
    // Always defined, as in Ansible: empty until facts are gathered (the
    // facts' own layer, above this one, then holds them).
    vars.entry("ansible_facts").or_insert(json!({}));
    vars
}

/// The value of `omit`: a module option whose value renders to it is left
/// out, as if never written (`mode: "{{ m | default(omit) }}"`).
pub(crate) const OMIT: &str = "__omit_place_holder__capstan";

/// Leaves out every mapping entry (at any depth) and list item whose
/// value is [`OMIT`].
pub(crate) fn remove_omitted(value: &mut Json) {
    match value {
        Json::Object(map) => {
            map.retain(|_, v| v.as_str() != Some(OMIT));
            map.values_mut().for_each(remove_omitted);
        }
        Json::Array(items) => {
            items.retain(|v| v.as_str() != Some(OMIT));
            items.iter_mut().for_each(remove_omitted);
        }
        _ => {}
    }
}
