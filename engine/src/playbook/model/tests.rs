//! Reading playbooks: blocks, imports and what they hand down.

use super::*;

/// Writes `files` under a new folder and loads `site.yml` from it.
fn load_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Playbook, PlaybookError>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let loaded = load(&dir.path().join("site.yml"));
    (dir, loaded)
}

fn names(steps: &[Step]) -> Vec<String> {
    all_tasks(steps).iter().map(|t| t.display_name()).collect()
}

#[test]
fn a_blocks_keywords_reach_every_task_inside_under_the_tasks_own() {
    let (_dir, loaded) = load_with(&[(
        "site.yml",
        r#"- hosts: all
  tasks:
    - name: outer
      when: a
      tags: [outer]
      become: true
      vars: {x: outer, y: outer}
      block:
        - name: inner block
          when: b
          become: false
          ignore_errors: true
          block:
            - name: t1
              debug: msg=1
              when: c
              vars: {y: task}
      rescue:
        - name: r1
          debug: msg=r
      always:
        - name: a1
          debug: msg=a
          tags: [own]
"#,
    )]);
    let playbook = loaded.unwrap();
    let tasks = all_tasks(&playbook.plays[0].tasks);
    assert_eq!(names(&playbook.plays[0].tasks), ["t1", "r1", "a1"]);
    let t1 = tasks[0];
    assert_eq!(t1.when, ["a", "b", "c"], "outer conditions first");
    assert_eq!(t1.tags, ["outer"]);
    assert_eq!(t1.become_, Some(false), "the nearer block wins");
    assert!(t1.ignores_errors());
    assert_eq!(
        t1.vars,
        [
            ("x".to_string(), serde_json::json!("outer")),
            ("y".to_string(), serde_json::json!("outer")),
            ("y".to_string(), serde_json::json!("task")),
        ],
        "the task's own vars come last, and win"
    );
    assert_eq!(tasks[1].when, ["a"], "a rescue is under the block's when");
    assert!(!tasks[1].ignores_errors());
    assert_eq!(tasks[2].tags, ["own", "outer"]);
}

#[test]
fn imported_task_files_are_found_beside_their_importer_and_take_its_keywords() {
    let (_dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: tasks/main.yml\n      when: go\n      tags: [t]\n",
        ),
        (
            "tasks/main.yml",
            "- name: one\n  debug: msg=1\n- import_tasks: more.yml\n",
        ),
        ("tasks/more.yml", "- name: two\n  debug: msg=2\n"),
    ]);
    let playbook = loaded.unwrap();
    assert_eq!(names(&playbook.plays[0].tasks), ["one", "two"]);
    for task in all_tasks(&playbook.plays[0].tasks) {
        assert_eq!(
            (task.when.as_slice(), task.tags.as_slice()),
            (&["go".to_string()][..], &["t".to_string()][..])
        );
    }
    assert!(
        all_tasks(&playbook.plays[0].tasks)[1]
            .pos
            .file
            .ends_with("more.yml"),
        "a task keeps the place it was written"
    );
}

#[test]
fn a_missing_or_circular_import_is_named_where_it_is_written() {
    let (_dir, missing) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - import_tasks: nowhere.yml\n",
    )]);
    let error = missing.unwrap_err().to_string();
    assert!(error.contains("site.yml:3:21"), "{error}");
    assert!(error.contains("no task file `nowhere.yml`"), "{error}");

    let (_dir, circle) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_tasks: a.yml\n",
        ),
        ("a.yml", "- import_tasks: b.yml\n"),
        ("b.yml", "- debug: msg=x\n- import_tasks: a.yml\n"),
    ]);
    let error = circle.unwrap_err().to_string();
    assert!(error.contains("b.yml:2:17"), "{error}");
    assert!(error.contains("import each other in a circle"), "{error}");
    assert!(error.contains("a.yml -> "), "{error}");

    let (_dir, templated) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - import_tasks: \"{{ os }}.yml\"\n",
    )]);
    let error = templated.unwrap_err().to_string();
    assert!(error.contains("use include_tasks"), "{error}");
}

#[test]
fn blocks_refuse_what_they_cannot_hold() {
    let (_dir, keyword) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - block:\n        - debug: msg=x\n      loop: [1]\n",
    )]);
    let error = keyword.unwrap_err().to_string();
    assert!(error.contains("site.yml:5:7"), "{error}");
    assert!(
        error.contains("unsupported block keyword `loop`"),
        "{error}"
    );

    // A block among handlers is its tasks, each a handler; one inside
    // that is refused, as Ansible refuses it.
    let (_dir, handlers) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks: []\n  handlers:\n    - name: h\n      become: true\n      block:\n        - name: a\n          debug: msg=a\n        - name: b\n          debug: msg=b\n",
    )]);
    let play = &handlers.unwrap().plays[0];
    let names: Vec<String> = play.handlers.iter().map(Task::display_name).collect();
    assert_eq!(names, ["a", "b"]);
    assert!(play.handlers.iter().all(|h| h.become_ == Some(true)));
    let (_dir, nested) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks: []\n  handlers:\n    - block:\n        - block: []\n",
    )]);
    let error = nested.unwrap_err().to_string();
    assert!(error.contains("site.yml:5:11"), "{error}");
    assert!(
        error.contains("Using a block as a handler is not supported."),
        "{error}"
    );

    let (_dir, stray) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - debug: msg=x\n      rescue: []\n",
    )]);
    let error = stray.unwrap_err().to_string();
    assert!(error.contains("belongs to a `block:`"), "{error}");
}

#[test]
fn a_roles_tasks_know_their_role_and_its_defaults_vars_and_handlers_join_the_play() {
    let (_dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  roles:\n    - base\n    - role: web\n      port: 81\n      when: go\n    - role: web\n      port: 81\n      when: go\n  tasks:\n    - import_role: {name: web, tasks_from: extra}\n",
        ),
        (
            "roles/base/tasks/main.yml",
            "- name: base task\n  debug: msg=b\n",
        ),
        ("roles/web/defaults/main.yml", "port: 80\nuser: www\n"),
        ("roles/web/vars/main.yml", "user: nginx\n"),
        ("roles/web/meta/main.yml", "dependencies: [base]\n"),
        (
            "roles/web/tasks/main.yml",
            "- name: web task\n  debug: msg=w\n",
        ),
        (
            "roles/web/tasks/extra.yml",
            "- name: extra task\n  debug: msg=e\n",
        ),
        (
            "roles/web/handlers/main.yml",
            "- name: reload\n  debug: msg=r\n",
        ),
    ]);
    let play = &loaded.unwrap().plays[0];
    let names: Vec<String> = play.all_tasks().iter().map(|t| t.display_name()).collect();
    // base once (web's dependency on it already ran), web once (the same
    // parameters twice), then the imported task file.
    assert_eq!(names, ["base task", "web task", "extra task"]);
    let web = play.all_tasks()[1];
    assert_eq!(web.role.as_ref().unwrap().name, "web");
    assert_eq!(web.when, ["go"], "the role entry's when reaches its tasks");
    let vars: Vec<&str> = web.vars.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        vars,
        ["role_name", "role_path", "ansible_search_path", "port"]
    );
    assert_eq!(
        play.role_defaults,
        [
            ("port".to_string(), serde_json::json!(80)),
            ("user".to_string(), serde_json::json!("www"))
        ]
    );
    assert_eq!(
        play.role_vars,
        [("user".to_string(), serde_json::json!("nginx"))]
    );
    assert_eq!(
        play.handlers.len(),
        2,
        "web's handlers, read for each time it ran"
    );
    assert_eq!(play.handlers[0].handler_names(), ["reload", "web : reload"]);
}

#[test]
fn a_missing_role_or_a_circle_of_dependencies_is_named_where_it_is_written() {
    let (_dir, missing) = load_with(&[("site.yml", "- hosts: all\n  roles:\n    - nginx\n")]);
    let error = missing.unwrap_err().to_string();
    assert!(error.contains("site.yml:3:7"), "{error}");
    assert!(error.contains("no role `nginx` (looked in "), "{error}");
    assert!(error.contains("roles/nginx"), "{error}");

    let (_dir, circle) = load_with(&[
        ("site.yml", "- hosts: all\n  roles: [a]\n"),
        ("roles/a/meta/main.yml", "dependencies: [b]\n"),
        ("roles/b/meta/main.yml", "dependencies:\n  - role: a\n"),
    ]);
    let error = circle.unwrap_err().to_string();
    assert!(error.contains("b/meta/main.yml:2:11"), "{error}");
    assert!(error.contains("in a circle: a -> b -> a"), "{error}");

    let (_dir, from) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - import_role:\n        name: a\n        tasks_from: nope\n",
        ),
        ("roles/a/tasks/main.yml", "- debug: msg=x\n"),
    ]);
    let error = from.unwrap_err().to_string();
    assert!(
        error.contains("role `a` has no tasks file `nope`"),
        "{error}"
    );
}

#[test]
fn an_include_with_a_plain_name_is_read_at_load_and_one_with_a_template_waits() {
    let (_dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - block:\n        - include_tasks: steps.yml\n          when: b\n          vars: {x: 1}\n      become: true\n      when: a\n    - include_tasks: \"{{ os }}.yml\"\n      loop: [1, 2]\n",
        ),
        ("steps.yml", "- name: step\n  debug: msg=s\n"),
    ]);
    let play = &loaded.unwrap().plays[0];
    let Step::Block(block) = &play.tasks[0] else {
        panic!("a block first")
    };
    let Step::Include(plain) = &block.body[0] else {
        panic!("an include in the block")
    };
    assert_eq!(
        plain.when,
        ["a", "b"],
        "the block's when decides the include"
    );
    let steps = plain.steps.as_ref().expect("read at load");
    let step = &all_tasks(steps)[0];
    assert_eq!(step.display_name(), "step");
    assert!(step.when.is_empty(), "the include's when is not the task's");
    assert_eq!(step.become_, Some(true), "the block's become reaches it");
    let Step::Include(templated) = &play.tasks[1] else {
        panic!("a second include")
    };
    assert!(templated.steps.is_none());
    assert!(templated.loop_.is_some());
}

#[test]
fn an_include_of_a_missing_file_or_with_an_unknown_keyword_is_refused() {
    let (_dir, missing) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_tasks: gone.yml\n",
    )]);
    let error = missing.unwrap_err().to_string();
    assert!(error.contains("site.yml:3:22"), "{error}");
    assert!(error.contains("no task file `gone.yml`"), "{error}");

    let (_dir, keyword) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_tasks: x.yml\n      register: r\n",
        ),
        ("x.yml", "- debug: msg=x\n"),
    ]);
    let error = keyword.unwrap_err().to_string();
    assert!(
        error.contains("unsupported keyword `register` on include_tasks"),
        "{error}"
    );
}

#[test]
fn a_templated_include_names_the_files_its_name_could_match() {
    let (dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_tasks: \"os/{{ ansible_os_family | lower }}.yml\"\n",
        ),
        ("os/debian.yml", "- debug: msg=d\n"),
        ("os/redhat.yml", "- debug: msg=r\n"),
        ("os/notes.txt", "not a task file\n"),
    ]);
    let play = &loaded.unwrap().plays[0];
    let Step::Include(include) = &play.tasks[0] else {
        panic!("an include")
    };
    assert_eq!(
        include.candidate_files(),
        [
            dir.path().join("os/debian.yml"),
            dir.path().join("os/redhat.yml")
        ]
    );
    let pattern = loader::wildcards("pre-{{ a }}-{{ b }}.yml");
    assert!(loader::matches(&pattern, "pre-x-y.yml"));
    assert!(loader::matches(&pattern, "pre--.yml"));
    assert!(!loader::matches(&pattern, "pre-x.yml"));
    assert!(!loader::matches(&pattern, "pre-x-y.yaml"));
}

#[test]
fn action_forms_delegation_retries_and_batches_are_read() {
    let (_dir, loaded) = load_with(&[(
        "site.yml",
        r#"- hosts: all
  serial: [1, "30%", "{{ step }}"]
  max_fail_percentage: 25
  any_errors_fatal: true
  tasks:
    - local_action: command echo hi
    - action: {module: copy, dest: /x, content: y}
      delegate_to: "{{ peer }}"
      delegate_facts: true
    - block:
        - command: "true"
          register: r
          until: r.rc == 0
          retries: 2
          delay: 0.5
      run_once: true
      any_errors_fatal: false
"#,
    )]);
    let play = &loaded.unwrap().plays[0];
    assert_eq!(
        play.serial,
        [
            BatchSize::Count(1),
            BatchSize::Percent(30),
            BatchSize::Template("{{ step }}".into())
        ]
    );
    assert_eq!(
        (play.max_fail_percentage, play.any_errors_fatal),
        (Some(25.0), true)
    );
    let tasks = play.all_tasks();
    assert_eq!(tasks[0].module, Module::Command);
    assert!(matches!(&tasks[0].args, Args::Inline(a) if a == "echo hi"));
    assert_eq!(tasks[0].delegate_to.as_deref(), Some("localhost"));
    assert_eq!(tasks[1].module, Module::Copy);
    assert!(
        matches!(&tasks[1].args, Args::Map(m) if m["dest"] == "/x" && m.get("module").is_none())
    );
    assert_eq!(
        (tasks[1].delegate_to.as_deref(), tasks[1].delegate_facts),
        (Some("{{ peer }}"), Some(true))
    );
    let retried = tasks[2];
    assert_eq!(
        retried.until.as_deref(),
        Some(&["r.rc == 0".to_string()][..])
    );
    assert_eq!((retried.retries, retried.delay), (Some(2), Some(0.5)));
    assert_eq!(
        (retried.run_once.clone(), retried.any_errors_fatal),
        (Some(Switch::Fixed(true)), Some(false)),
        "the block hands run_once and any_errors_fatal down"
    );
}

#[test]
fn a_task_that_names_two_modules_through_action_is_refused() {
    let (_dir, loaded) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: echo\n      local_action: shell echo\n",
    )]);
    let err = loaded.unwrap_err().to_string();
    assert!(
        err.contains("site.yml:4:7") && err.contains("names a module twice"),
        "{err}"
    );
}

#[test]
fn imported_playbooks_bring_their_plays_with_the_imports_keywords() {
    let (_dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks: [{debug: msg=first}]\n\
             - import_playbook: sub/web.yml\n  vars: {tier: web, own: import}\n  tags: [web]\n  when: go\n",
        ),
        (
            "sub/web.yml",
            "- hosts: web\n  vars: {own: play}\n  tasks:\n    - import_tasks: steps.yml\n\
             - import_playbook: ../db.yml\n",
        ),
        ("sub/steps.yml", "- debug: msg=step\n"),
        ("db.yml", "- hosts: db\n  tasks: [{debug: msg=db}]\n"),
    ]);
    let plays = loaded.unwrap().plays;
    let hosts: Vec<&str> = plays.iter().map(|p| p.hosts.as_str()).collect();
    assert_eq!(hosts, ["all", "web", "db"]);
    let web = &plays[1];
    assert_eq!(
        web.vars,
        [
            ("own".to_string(), Json::from("play")),
            ("tier".to_string(), Json::from("web")),
            ("own".to_string(), Json::from("import")),
        ],
        "the import's vars come last and win, as in Ansible"
    );
    assert_eq!(web.tags, ["web"]);
    let task = web.all_tasks()[0];
    assert_eq!(task.when, ["go"]);
    assert!(plays[2].all_tasks()[0].when.contains(&"go".to_string()));
}

#[test]
fn a_missing_or_circular_playbook_import_is_named_where_it_is_written() {
    let (_dir, loaded) = load_with(&[("site.yml", "- import_playbook: gone.yml\n")]);
    let err = loaded.unwrap_err().to_string();
    assert!(
        err.contains("site.yml:1:20") && err.contains("no playbook `gone.yml`"),
        "{err}"
    );
    let (_dir, loaded) = load_with(&[
        ("site.yml", "- import_playbook: a.yml\n"),
        ("a.yml", "- import_playbook: site.yml\n"),
    ]);
    let err = loaded.unwrap_err().to_string();
    assert!(
        err.contains("a.yml:1:3") && err.contains("in a circle"),
        "{err}"
    );
    let (_dir, loaded) = load_with(&[("site.yml", "- import_playbook: a.yml\n  forks: 3\n")]);
    let err = loaded.unwrap_err().to_string();
    assert!(
        err.contains("unsupported keyword `forks` on import_playbook"),
        "{err}"
    );
}

#[test]
fn an_included_role_keeps_its_variables_to_its_own_tasks_and_handlers() {
    let (_dir, loaded) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_role:\n        name: web\n        vars_from: extra\n        apply: {tags: [applied], become: true}\n      when: go\n    - include_role: {name: \"{{ which }}\"}\n",
        ),
        ("roles/web/defaults/main.yml", "port: 80\n"),
        ("roles/web/vars/extra.yml", "user: www\n"),
        ("roles/web/meta/main.yml", "dependencies: [base]\n"),
        (
            "roles/web/tasks/main.yml",
            "- name: serve\n  debug: msg=s\n  notify: reload\n",
        ),
        (
            "roles/web/handlers/main.yml",
            "- name: reload\n  debug: msg=r\n",
        ),
        ("roles/base/defaults/main.yml", "base: yes\n"),
        (
            "roles/base/tasks/main.yml",
            "- name: base step\n  debug: msg=b\n",
        ),
    ]);
    let play = &loaded.unwrap().plays[0];
    assert!(play.role_defaults.is_empty(), "nothing reaches the play");
    let Step::Include(include) = &play.tasks[0] else {
        panic!("an include")
    };
    assert_eq!(include.when, ["go"], "the include's own condition");
    let role = include.included_role.as_ref().expect("a role include");
    let scope = role.scope.as_ref().expect("read at load");
    assert_eq!(scope.defaults.get("port"), Some(&Json::from(80)));
    assert_eq!(scope.defaults.get("base"), Some(&Json::from(true)));
    assert_eq!(
        scope.vars.get("user"),
        Some(&Json::from("www")),
        "vars_from"
    );
    let steps = include.steps.as_ref().unwrap();
    assert_eq!(names(steps), ["base step", "serve"], "dependencies first");
    for task in all_tasks(steps) {
        assert!(task.when.is_empty(), "the include's when stays on it");
        assert_eq!(task.role_scope.as_ref(), Some(scope));
    }
    let Step::Block(block) = &steps[0] else {
        panic!("the role as a block")
    };
    assert!(block.once.is_none(), "an included role runs each time");
    let Step::Block(dependency) = &block.body[0] else {
        panic!("its dependency as a block")
    };
    assert!(dependency.once.is_some(), "a dependency runs once per host");
    // Its handlers join the play's when the include runs.
    assert!(play.handlers.iter().all(|h| h.display_name() != "reload"));
    let handler = play
        .included_handlers
        .iter()
        .find(|h| h.display_name() == "reload");
    assert_eq!(handler.unwrap().role_scope.as_ref(), Some(scope));
    let role = include.included_role.as_ref().unwrap();
    assert_eq!(role.handlers.len(), 1);

    let Step::Include(late) = &play.tasks[1] else {
        panic!("a second include")
    };
    assert!(late.steps.is_none(), "a templated role waits for its host");
}

#[test]
fn an_include_role_that_names_no_role_or_a_missing_one_is_refused_where_written() {
    let (_dir, missing) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_role:\n        name: gone\n",
    )]);
    let error = missing.unwrap_err().to_string();
    assert!(error.contains("site.yml:4:15"), "{error}");
    assert!(error.contains("no role `gone`"), "{error}");

    let (_dir, option) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_role: {name: a, tasks_form: x}\n",
        ),
        ("roles/a/tasks/main.yml", "- debug: msg=x\n"),
    ]);
    let error = option.unwrap_err().to_string();
    assert!(
        error.contains("unsupported include_role option `tasks_form`"),
        "{error}"
    );

    let (_dir, keyword) = load_with(&[
        (
            "site.yml",
            "- hosts: all\n  tasks:\n    - include_role: {name: a}\n      become: true\n",
        ),
        ("roles/a/tasks/main.yml", "- debug: msg=x\n"),
    ]);
    let error = keyword.unwrap_err().to_string();
    assert!(error.contains("site.yml:4:7"), "{error}");
    assert!(error.contains("`apply:`"), "{error}");

    let (_dir, nameless) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - include_role: {tasks_from: x}\n",
    )]);
    let error = nameless.unwrap_err().to_string();
    assert!(error.contains("include_role names no role"), "{error}");
}

#[test]
fn an_argument_ansible_reserves_is_refused_where_it_is_written() {
    let (_dir, reserved) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - debug: msg=x\n    - set_fact:\n        _ansible_foo: bar\n",
    )]);
    let error = reserved.unwrap_err().to_string();
    assert!(error.contains("site.yml:4:7"), "{error}");
    assert!(
        error.contains(
            "for action 'set_fact': '_ansible_foo'. The prefix '_ansible_' is reserved for \
             internal use only."
        ),
        "{error}"
    );
    // A command line's words are not arguments.
    let (_dir, command) = load_with(&[(
        "site.yml",
        "- hosts: all\n  tasks:\n    - command: echo _ansible_foo=1\n",
    )]);
    assert!(command.is_ok(), "{:?}", command.err());
}
