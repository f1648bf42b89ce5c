//! What a task's loop goes over: `loop:`/`with_list:` as given,
//! `with_items:` flattened one level, and the older `with_*` forms
//! (`dict`, `fileglob`, `nested`, `sequence`, `together`, `subelements`,
//! `first_found`)
//! turned into the item lists Ansible's lookups give.

use serde_json::{Map, Value as Json, json};

use crate::playbook::conditional;
use crate::playbook::context::RunContext;
use crate::playbook::controller_files::{ControllerFiles, files_under};
use crate::playbook::model::{LoopControl, LoopKind, LoopSpec, RoleRef};
use crate::playbook::task_error::TaskError;
use crate::playbook::template::Scope;

/// The most items a generated loop (`with_nested`, `with_sequence`) may
/// have: a typo should not become a billion tasks.
const MAX_ITEMS: usize = 100_000;

/// The items `spec` gives, rendered with `scope`; `role` is the task's
/// role (where `with_fileglob` looks first).
pub(super) fn items_of(
    ctx: &RunContext,
    role: Option<&RoleRef>,
    spec: &LoopSpec,
    scope: &Scope,
) -> Result<Vec<Json>, TaskError> {
    let rendered = ctx.templates.render_json(&spec.items, scope)?;
    let role_dir = role.map(|r| r.path.as_path());
    shape(
        spec.kind,
        rendered,
        &ControllerFiles::new(&ctx.dir, role_dir),
    )
}

/// A rendered loop value turned into items as its keyword does.
fn shape(kind: LoopKind, rendered: Json, files: &ControllerFiles) -> Result<Vec<Json>, TaskError> {
    match kind {
        LoopKind::List => list(rendered, "the loop"),
        LoopKind::WithList => match rendered {
            Json::Array(items) => Ok(items),
            Json::Null => Ok(Vec::new()),
            one => Ok(vec![one]),
        },
        LoopKind::Items => Ok(flattened(rendered)),
        LoopKind::Dict => dict_items(rendered),
        LoopKind::Fileglob => {
            let mut found = Vec::new();
            for pattern in strings(rendered, "with_fileglob")? {
                let matched = files
                    .glob("files", &pattern)
                    .map_err(TaskError::LocalFile)?;
                found.extend(matched.into_iter().map(Json::String));
            }
            Ok(found)
        }
        LoopKind::Nested => nested(list(rendered, "with_nested")?),
        LoopKind::Together => Ok(together(list(rendered, "with_together")?)),
        LoopKind::Sequence => sequence(&text_of(&rendered)),
        LoopKind::Subelements => subelements(list(rendered, "with_subelements")?),
        LoopKind::FirstFound => first_found(rendered, files),
    }
}

/// `with_first_found`: names (a list, or mappings of `files`, `paths` and
/// `skip`), the first that is among the controller's files as the one
/// item; none, with `skip: true`, when none is.
fn first_found(rendered: Json, files: &ControllerFiles) -> Result<Vec<Json>, TaskError> {
    let terms = match rendered {
        Json::Array(items) => items,
        one => vec![one],
    };
    let mut names = Vec::new();
    let mut skip = false;
    for term in terms {
        match term {
            Json::String(name) => names.push(name),
            Json::Object(map) => {
                let listed = |key: &str| -> Result<Vec<String>, TaskError> {
                    map.get(key)
                        .cloned()
                        .map_or(Ok(Vec::new()), |v| strings(v, "with_first_found"))
                };
                names.extend(files_under(&listed("files")?, &listed("paths")?));
                skip |= map.get("skip").is_some_and(|s| s == &Json::Bool(true));
            }
            other => {
                return Err(TaskError::Args(format!(
                    "with_first_found takes file names or mappings of files and paths, not \
                     `{other}`"
                )));
            }
        }
    }
    let found = files
        .first_found_or_skip(&names, skip)
        .map_err(TaskError::LocalFile)?;
    Ok(found
        .map(|path| Json::String(path.display().to_string()))
        .into_iter()
        .collect())
}

/// A rendered list; nothing for `null`; anything else is named.
fn list(value: Json, what: &str) -> Result<Vec<Json>, TaskError> {
    match value {
        Json::Array(items) => Ok(items),
        Json::Null => Ok(Vec::new()),
        Json::Object(_) => Err(TaskError::NotAList("a mapping".into())),
        other => Err(TaskError::NotAList(format!("`{other}` (for {what})"))),
    }
}

/// `with_items`: a lone value is one item; nested lists lose one level.
fn flattened(value: Json) -> Vec<Json> {
    let items = match value {
        Json::Array(items) => items,
        Json::Null => Vec::new(),
        other => vec![other],
    };
    items
        .into_iter()
        .flat_map(|i| match i {
            Json::Array(inner) => inner,
            other => vec![other],
        })
        .collect()
}

/// Text or a list of text (`with_fileglob` patterns).
fn strings(value: Json, what: &str) -> Result<Vec<String>, TaskError> {
    match value {
        Json::String(text) => Ok(vec![text]),
        Json::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Json::String(text) => Ok(text),
                other => Err(TaskError::Args(format!(
                    "{what} takes text patterns, not `{other}`"
                ))),
            })
            .collect(),
        other => Err(TaskError::Args(format!(
            "{what} takes a pattern or a list of them, not `{other}`"
        ))),
    }
}

/// A value as text: a string as it is, anything else as JSON.
pub(super) fn text_of(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// `with_dict`: each entry as `{key, value}`, in the mapping's order.
fn dict_items(value: Json) -> Result<Vec<Json>, TaskError> {
    match value {
        Json::Object(map) => Ok(map
            .into_iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect()),
        Json::Null => Ok(Vec::new()),
        other => Err(TaskError::Args(format!(
            "with_dict: the dict lookup plugin expects a dictionary, but it was given `{other}`"
        ))),
    }
}

/// A nested list's member as a list (a lone value is a list of one).
fn as_list(value: Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items,
        other => vec![other],
    }
}

/// `with_nested`: every combination, the first list varying slowest.
fn nested(lists: Vec<Json>) -> Result<Vec<Json>, TaskError> {
    let mut combos: Vec<Vec<Json>> = vec![Vec::new()];
    for list in lists.into_iter().map(as_list) {
        if combos.len().saturating_mul(list.len()) > MAX_ITEMS {
            return Err(TaskError::Args(format!(
                "with_nested would give more than {MAX_ITEMS} items"
            )));
        }
        combos = combos
            .into_iter()
            .flat_map(|combo| {
                list.iter().map(move |item| {
                    let mut next = combo.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    if combos.len() == 1 && combos[0].is_empty() {
        return Ok(Vec::new());
    }
    Ok(combos.into_iter().map(Json::Array).collect())
}

/// `with_together`: the lists side by side, the shorter ones padded with
/// `null`.
fn together(lists: Vec<Json>) -> Vec<Json> {
    let lists: Vec<Vec<Json>> = lists.into_iter().map(as_list).collect();
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .map(|i| {
            Json::Array(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                    .collect(),
            )
        })
        .collect()
}

/// `with_sequence`: `start=1 end=5 stride=1 format=%d`, `count=N`, or the
/// short form `START-END[/STRIDE][:FORMAT]`; each item is text.
fn sequence(spec: &str) -> Result<Vec<Json>, TaskError> {
    let bad = |why: String| TaskError::Args(format!("with_sequence `{spec}`: {why}"));
    let number = |text: &str| -> Result<i64, TaskError> {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => i64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        parsed.map_err(|_| bad(format!("`{text}` is not a whole number")))
    };
    let (mut start, mut end, mut stride, mut format) = (1i64, None, 1i64, "%d".to_string());
    let mut count = None;
    if spec.contains('=') {
        for word in spec.split_whitespace() {
            let (key, value) = word
                .split_once('=')
                .ok_or_else(|| bad(format!("expected key=value, got `{word}`")))?;
            match key {
                "start" => start = number(value)?,
                "end" => end = Some(number(value)?),
                "stride" => stride = number(value)?,
                "count" => count = Some(number(value)?),
                "format" => format = value.to_string(),
                other => return Err(bad(format!("unknown option `{other}`"))),
            }
        }
    } else {
        let (range, fmt) = spec.split_once(':').unwrap_or((spec, "%d"));
        format = fmt.to_string();
        let (range, step) = range.split_once('/').unwrap_or((range, "1"));
        stride = number(step)?;
        match range.split_once('-') {
            Some((a, b)) => {
                start = number(a)?;
                end = Some(number(b)?);
            }
            None => end = Some(number(range)?),
        }
    }
    let end = match (count, end) {
        (Some(_), Some(_)) => return Err(bad("give `count` or `end`, not both".into())),
        (Some(0), None) => return Ok(Vec::new()),
        (Some(n), None) => start + (n - 1) * stride,
        (None, Some(end)) => end,
        (None, None) => return Err(bad("needs `end` or `count`".into())),
    };
    if stride == 0 {
        return Err(bad("stride 0 never ends".into()));
    }
    if (stride > 0 && end < start) || (stride < 0 && end > start) {
        return Err(bad(format!(
            "cannot go from {start} to {end} in steps of {stride}"
        )));
    }
    let steps = ((end - start) / stride) as u64 + 1;
    if steps > MAX_ITEMS as u64 {
        return Err(bad(format!("would give more than {MAX_ITEMS} items")));
    }
    (0..steps as i64)
        .map(|k| {
            printf(&format, start + k * stride)
                .map(Json::String)
                .map_err(&bad)
        })
        .collect()
}

/// Formats `n` with one printf conversion (`%d`, `%i`, `%x`, `%X`, `%o`,
/// with a width and zero padding: `web%02d`).
fn printf(format: &str, n: i64) -> Result<String, String> {
    let Some(at) = format.find('%') else {
        return Err(format!("format `{format}` has no % conversion"));
    };
    let (before, rest) = format.split_at(at);
    let rest = &rest[1..];
    let spec_len = rest
        .find(|c: char| c.is_ascii_alphabetic())
        .ok_or_else(|| format!("format `{format}` has no conversion letter"))?;
    let (flags, tail) = rest.split_at(spec_len);
    let width: usize = flags.trim_start_matches('0').parse().unwrap_or(0);
    let zero = flags.starts_with('0');
    let (letter, after) = tail.split_at(1);
    let digits = match letter {
        "d" | "i" => n.to_string(),
        "x" => format!("{n:x}"),
        "X" => format!("{n:X}"),
        "o" => format!("{n:o}"),
        other => return Err(format!("conversion `%{other}` is not supported")),
    };
    let padded = match (zero, width) {
        (true, w) => format!("{digits:0>w$}"),
        (false, w) => format!("{digits:>w$}"),
    };
    Ok(format!("{before}{padded}{after}"))
}

/// `with_subelements: [LIST, KEY]` (and `{skip_missing: true}`): each
/// element of LIST paired with each member of its KEY list.
fn subelements(args: Vec<Json>) -> Result<Vec<Json>, TaskError> {
    let bad = |why: &str| TaskError::Args(format!("with_subelements: {why}"));
    let mut args = args.into_iter();
    let (Some(outer), Some(Json::String(key))) = (args.next(), args.next()) else {
        return Err(bad("takes a list and the name of a key of its elements"));
    };
    let skip_missing = match args.next() {
        Some(Json::Object(flags)) => flags.get("skip_missing") == Some(&Json::Bool(true)),
        None => false,
        Some(_) => return Err(bad("its third member is a mapping of flags")),
    };
    let outer = match outer {
        Json::Array(items) => items,
        Json::Object(map) => map.into_values().collect(),
        _ => return Err(bad("its first member must be a list")),
    };
    let mut items = Vec::new();
    for element in outer {
        let mut value = Some(&element);
        for part in key.split('.') {
            value = value.and_then(|v| v.get(part));
        }
        match value {
            Some(Json::Array(members)) => {
                for member in members {
                    items.push(Json::Array(vec![element.clone(), member.clone()]));
                }
            }
            None | Some(Json::Null) if skip_missing => {}
            None | Some(Json::Null) => {
                return Err(bad(&format!(
                    "an element has no `{key}` (add {{skip_missing: true}} to skip it)"
                )));
            }
            Some(_) => return Err(bad(&format!("`{key}` of an element is not a list"))),
        }
    }
    Ok(items)
}

/// The loop variable's name: `loop_var`, rendered when it is a template
/// (`loop_var: "{{ name }}"`) and then checked as a name.
pub(super) fn loop_var_name(
    ctx: &RunContext,
    control: &LoopControl,
    scope: &Scope,
) -> Result<String, TaskError> {
    if !crate::playbook::template::Templates::is_template(&control.loop_var) {
        return Ok(control.loop_var.clone());
    }
    let name = ctx.templates.render_text(&control.loop_var, scope)?;
    if crate::playbook::model::is_identifier(&name) {
        Ok(name)
    } else {
        Err(TaskError::Args(format!(
            "loop_var `{}` gives `{name}`, which is not a valid variable name (letters, digits, _)",
            control.loop_var
        )))
    }
}

/// Whether a loop's items are exactly what the user wrote (a list without
/// templates, or a template naming a variable written so, taken as it
/// is): then a conditional may evaluate an item's text as an expression
/// (`that: "{{ item }}"`), as Ansible trusts it.
pub(super) fn items_as_written(spec: &LoopSpec, scope: &Scope) -> bool {
    let as_it_is = matches!(
        spec.kind,
        LoopKind::List | LoopKind::WithList | LoopKind::Items
    );
    as_it_is
        && match &spec.items {
            Json::String(text) => matches!(
                conditional::shape(text),
                conditional::Shape::Variable { root, .. } if scope.trusts(root)
            ),
            items => !crate::playbook::template::holds_template(items),
        }
}

/// `scope` with an item's variables (as [`item_vars`] gives them) bound:
/// the loop variable, which comes first, as written when the loop's items
/// are ([`items_as_written`]), the others as data.
pub(super) fn with_item(mut scope: Scope, vars: &[(String, Json)], written: bool) -> Scope {
    for (at, (name, value)) in vars.iter().enumerate() {
        scope = if written && at == 0 {
            scope.with_written(name, value.clone())
        } else {
            scope.with(name, value.clone())
        };
    }
    scope
}

/// The variables item `index` of `items` binds: the loop variable (named
/// `loop_var`, see [`loop_var_name`]), and as `loop_control` asks, the
/// index variable and `ansible_loop`.
pub(super) fn item_vars(
    control: &LoopControl,
    loop_var: &str,
    items: &[Json],
    index: usize,
) -> Vec<(String, Json)> {
    let mut vars = vec![(loop_var.to_string(), items[index].clone())];
    if let Some(name) = &control.index_var {
        vars.push((name.clone(), Json::from(index)));
    }
    if control.extended {
        vars.push(("ansible_loop".into(), extended(items, index)));
    }
    vars
}

/// `loop_control.extended`'s `ansible_loop` for item `index` of `all`.
fn extended(all: &[Json], index: usize) -> Json {
    let length = all.len();
    let mut facts = Map::new();
    facts.insert("allitems".into(), Json::Array(all.to_vec()));
    facts.insert("index".into(), json!(index + 1));
    facts.insert("index0".into(), json!(index));
    facts.insert("revindex".into(), json!(length - index));
    facts.insert("revindex0".into(), json!(length - index - 1));
    facts.insert("first".into(), json!(index == 0));
    facts.insert("last".into(), json!(index + 1 == length));
    facts.insert("length".into(), json!(length));
    if index > 0 {
        facts.insert("previtem".into(), all[index - 1].clone());
    }
    if index + 1 < length {
        facts.insert("nextitem".into(), all[index + 1].clone());
    }
    Json::Object(facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(kind: LoopKind, value: Json) -> Result<Vec<Json>, TaskError> {
        let dir = tempfile::tempdir().unwrap();
        shape(kind, value, &ControllerFiles::new(dir.path(), None))
    }

    #[test]
    fn loops_and_with_items_take_lists_as_ansible_does() {
        assert_eq!(
            items(LoopKind::List, json!(["a", "b"])).unwrap(),
            [json!("a"), json!("b")]
        );
        assert!(items(LoopKind::List, json!(null)).unwrap().is_empty());
        // `with_items` flattens one level and takes a lone value.
        assert_eq!(
            items(LoopKind::Items, json!([["a", "b"], "c"])).unwrap(),
            [json!("a"), json!("b"), json!("c")]
        );
        assert_eq!(
            items(LoopKind::Items, json!("solo")).unwrap(),
            [json!("solo")]
        );
        let error = items(LoopKind::List, json!({"a": 1})).unwrap_err();
        assert_eq!(error, TaskError::NotAList("a mapping".into()));
        assert_eq!(
            items(LoopKind::WithList, json!({"a": 1})).unwrap(),
            vec![json!({"a": 1})],
            "with_list takes a lone value as one item"
        );
        let error = items(LoopKind::List, json!(3)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the loop needs a list, but it gave `3` (for the loop)"
        );
    }

    #[test]
    fn with_first_found_gives_the_first_file_there_or_nothing_when_skipped() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("debian.yml"), "[]").unwrap();
        let files = ControllerFiles::new(dir.path(), None);
        let found = shape(
            LoopKind::FirstFound,
            json!(["redhat.yml", "debian.yml"]),
            &files,
        )
        .unwrap();
        let expected = dir.path().join("debian.yml").canonicalize().unwrap();
        assert_eq!(found, [json!(expected.display().to_string())]);
        let skipped = json!([{"files": ["x.yml"], "paths": ["vars"], "skip": true}]);
        assert!(
            shape(LoopKind::FirstFound, skipped, &files)
                .unwrap()
                .is_empty()
        );
        let missing = shape(LoopKind::FirstFound, json!(["x.yml"]), &files).unwrap_err();
        assert!(missing.to_string().contains("x.yml"), "{missing}");
    }

    #[test]
    fn dicts_become_key_value_items() {
        let items = dict_items(json!({"a": {"x": 2}, "b": 1})).unwrap();
        assert_eq!(
            items,
            [
                json!({"key": "a", "value": {"x": 2}}),
                json!({"key": "b", "value": 1})
            ]
        );
        assert!(
            dict_items(json!([1]))
                .unwrap_err()
                .to_string()
                .contains("expects a dictionary")
        );
    }

    #[test]
    fn nested_and_together_combine_lists() {
        assert_eq!(
            nested(vec![json!(["a", "b"]), json!([1, 2])]).unwrap(),
            [
                json!(["a", 1]),
                json!(["a", 2]),
                json!(["b", 1]),
                json!(["b", 2])
            ]
        );
        assert_eq!(
            together(vec![json!(["a", "b", "c"]), json!([1, 2])]),
            [json!(["a", 1]), json!(["b", 2]), json!(["c", null])]
        );
        let big: Vec<Json> = (0..3)
            .map(|_| json!((0..100).collect::<Vec<_>>()))
            .collect();
        assert!(nested(big).unwrap_err().to_string().contains("more than"));
    }

    #[test]
    fn sequences_in_both_forms() {
        let texts = |spec: &str| -> Vec<String> {
            sequence(spec)
                .unwrap()
                .into_iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            texts("start=1 end=3 format=web%02d"),
            ["web01", "web02", "web03"]
        );
        assert_eq!(texts("count=3 start=10 stride=5"), ["10", "15", "20"]);
        assert_eq!(texts("4-8/2"), ["4", "6", "8"]);
        assert_eq!(texts("start=0x0a end=0x0c format=%x"), ["a", "b", "c"]);
        assert_eq!(texts("count=0"), Vec::<String>::new());
        for (bad, says) in [
            ("start=5 end=1", "cannot go from 5 to 1"),
            ("end=1000000000", "more than"),
            ("start=1", "needs `end` or `count`"),
            ("end=3 format=%s", "not supported"),
            ("end=3 step=2", "unknown option `step`"),
        ] {
            let err = sequence(bad).unwrap_err().to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn subelements_pair_each_element_with_its_members() {
        let users = json!([
            {"name": "ann", "keys": ["k1", "k2"]},
            {"name": "bob", "keys": []},
            {"name": "cy"}
        ]);
        let err = subelements(vec![users.clone(), json!("keys")]).unwrap_err();
        assert!(err.to_string().contains("skip_missing"), "{err}");
        let items = subelements(vec![users, json!("keys"), json!({"skip_missing": true})]).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1][0]["name"], "ann");
        assert_eq!(items[1][1], "k2");
    }

    #[test]
    fn extended_loop_facts_know_their_neighbours() {
        let all = [json!("a"), json!("b"), json!("c")];
        let middle = extended(&all, 1);
        assert_eq!(middle["index"], 2);
        assert_eq!(
            (middle["previtem"].clone(), middle["nextitem"].clone()),
            (json!("a"), json!("c"))
        );
        assert_eq!(middle["revindex0"], 1);
        let last = extended(&all, 2);
        assert_eq!(
            (last["last"].clone(), last.get("nextitem")),
            (json!(true), None)
        );
    }
}
