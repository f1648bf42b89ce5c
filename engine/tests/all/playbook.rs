//! Playbooks end to end: real sshd hosts on loopback, files checked on
//! disk, recaps compared with what Ansible prints for the same playbook.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use capstan_engine::playbook::{PlaybookEvent, PlaybookOptions, PlaybookReport, Recap};

use crate::fleet::{Sshd, free_port, inventory_text};
use crate::support::{assert_no_file_holds, engine, play};

/// An inventory file listing each sshd as `h1`, `h2`, ... plus `extra` lines.
fn inventory(dir: &Path, fleet: &[&Sshd], extra: &str) -> PathBuf {
    let path = dir.join("inventory.ini");
    std::fs::write(&path, inventory_text(fleet, extra)).unwrap();
    path
}

/// An inventory file of hosts on this machine (`ansible_connection=local`),
/// each with its extra `key=value` text.
fn local_inventory(dir: &Path, hosts: &[(&str, &str)]) -> PathBuf {
    let mut text = String::from("[all]\n");
    for (name, vars) in hosts {
        text.push_str(&format!("{name} ansible_connection=local {vars}\n"));
    }
    write(dir, "inv.ini", &text)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The summary of the first failure a run reported (ignored ones aside).
fn first_failure(events: &[PlaybookEvent]) -> String {
    events
        .iter()
        .find_map(|e| match e {
            PlaybookEvent::HostDone(o) if o.status.name() == "failed" && !o.ignored => {
                Some(o.summary.clone())
            }
            _ => None,
        })
        .expect("a task failed")
}

/// How many hosts' results said `text`.
fn results_saying(events: &[PlaybookEvent], text: &str) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, PlaybookEvent::HostDone(o) if o.summary.contains(text)))
        .count()
}

fn recap_of<'a>(report: &'a PlaybookReport, host: &str) -> &'a Recap {
    report.recap.iter().find(|r| r.host == host).unwrap()
}

fn counts(r: &Recap) -> (u32, u32, u32, u32, u32, u32) {
    (
        r.ok,
        r.changed,
        r.unreachable,
        r.failed,
        r.skipped,
        r.ignored,
    )
}

const SITE: &str = r#"
- name: web servers
  hosts: web
  vars:
    root: "{{ out }}/{{ inventory_hostname }}"
    users: [ann, bob]
  tasks:
    - name: app folder
      file: path={{ root }} state=directory mode=0755
    - name: one file per user
      copy:
        dest: "{{ root }}/{{ item }}.txt"
        content: "hello {{ item | upper }}\n"
        mode: "0600"
      loop: "{{ users }}"
      notify: [restart app, reload app]
    - name: settings
      template: src=app.conf.j2 dest={{ root }}/app.conf
      notify: restart app
    - name: port line
      lineinfile:
        path: "{{ root }}/app.conf"
        regexp: '^port'
        line: "port = {{ port | default(8080) }}"
    - name: list
      shell: ls {{ root }} | wc -l
      register: listing
      changed_when: false
    - name: only on h2
      command: touch {{ root }}/h2-only
      args:
        creates: "{{ root }}/h2-only"
      when: inventory_hostname == 'h2'
    - name: check
      assert:
        that:
          - listing.stdout | int >= 3
          - listing.rc == 0
    - name: tagged away
      command: touch {{ root }}/tagged
      tags: [never]
  handlers:
    - name: restart app
      copy:
        dest: "{{ root }}/restarted"
        content: "{{ facts_os }}\n"
    - name: reload app
      lineinfile: path={{ root }}/reloads line=reloaded create=yes
"#;

const TEMPLATE: &str = "# {{ inventory_hostname }}\nport = {{ port | default(8080) }}\nusers = {{ users | join(',') }}\n{% for u in users %}user {{ u }}\n{% endfor %}";

#[tokio::test(flavor = "multi_thread")]
async fn a_playbook_runs_on_ssh_hosts_and_a_second_run_changes_nothing() {
    let a = Sshd::start();
    let b = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = home.path();
    let inv = inventory(
        dir,
        &[&a, &b],
        "[web:vars]\nfacts_os=\"{{ ansible_os_family }}\"\n",
    );
    let site = write(dir, "site.yml", SITE);
    write(dir, "templates/app.conf.j2", TEMPLATE);
    let out_var = |o: &mut PlaybookOptions| {
        o.extra_vars
            .insert("out".into(), out.path().display().to_string().into());
    };

    let (first, events) = play(&capstan, &site, &inv, out_var).await;
    // Ansible's recap for the same run: facts, folder, loop, template,
    // lineinfile, shell, (command on h2 / skipped on h1), assert, 2 handlers.
    assert_eq!(counts(recap_of(&first, "h1")), (9, 5, 0, 0, 1, 0));
    assert_eq!(counts(recap_of(&first, "h2")), (10, 6, 0, 0, 0, 0));
    for host in ["h1", "h2"] {
        let root = out.path().join(host);
        assert_eq!(
            std::fs::read_to_string(root.join("ann.txt")).unwrap(),
            "hello ANN\n"
        );
        let conf = std::fs::read_to_string(root.join("app.conf")).unwrap();
        assert_eq!(
            conf,
            format!("# {host}\nport = 8080\nusers = ann,bob\nuser ann\nuser bob\n")
        );
        assert_eq!(
            std::fs::read_to_string(root.join("restarted")).unwrap(),
            "Debian\n"
        );
        assert_eq!(
            std::fs::read_to_string(root.join("reloads")).unwrap(),
            "reloaded\n"
        );
        assert!(!root.join("tagged").exists(), "a `never` task ran");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(root.join("bob.txt"))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(out.path().join("h2/h2-only").exists());
    assert!(!out.path().join("h1/h2-only").exists());
    // Handlers run once, after the tasks, in the order they are defined.
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            PlaybookEvent::Task { name, handler, .. } => {
                Some(format!("{name}{}", if *handler { "!" } else { "" }))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        &order[order.len() - 2..],
        ["restart app!", "reload app!"],
        "{order:?}"
    );
    // One connection per host for the whole playbook.
    assert_eq!((a.logins(), b.logins()), (1, 1));

    let (second, _) = play(&capstan, &site, &inv, out_var).await;
    assert_eq!(recap_of(&second, "h1").changed, 0, "{:?}", second.recap);
    assert_eq!(recap_of(&second, "h2").changed, 0, "{:?}", second.recap);
    assert_eq!(recap_of(&second, "h2").ok, 8);

    // Both runs are jobs with every task result stored.
    let job = capstan.job(second.job_id).unwrap();
    assert_eq!(job.plugin, "playbook");
    assert_eq!(job.results.len(), 2);
    let tasks = capstan.store().task_outcomes(second.job_id).unwrap();
    assert_eq!(tasks.len(), 2 * 8, "{tasks:#?}");
    let listing = tasks
        .iter()
        .find(|t| t.task == "list" && t.host == "h1")
        .unwrap();
    assert_eq!(listing.result["stdout"], "5");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_mode_and_tags_change_nothing_they_should_not() {
    let a = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        r#"
- hosts: all
  gather_facts: no
  tasks:
    - file: path={{ out }}/a state=directory
      tags: [dirs]
    - copy: dest={{ out }}/b content=x
      tags: files
    - command: touch {{ out }}/c
"#,
    );
    let out_path = out.path().display().to_string();
    let (report, _) = play(&capstan, &site, &inv, |o| {
        o.check = true;
        o.extra_vars.insert("out".into(), out_path.clone().into());
    })
    .await;
    // Ansible in check mode: the file tasks report changed, the command is skipped.
    assert_eq!(counts(recap_of(&report, "h1")), (2, 2, 0, 0, 1, 0));
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "check mode wrote"
    );

    let (report, _) = play(&capstan, &site, &inv, |o| {
        o.tags = vec!["files".into()];
        o.extra_vars.insert("out".into(), out_path.clone().into());
    })
    .await;
    assert_eq!(counts(recap_of(&report, "h1")), (1, 1, 0, 0, 0, 0));
    assert!(out.path().join("b").exists() && !out.path().join("a").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_host_is_unreachable_and_the_others_finish() {
    let a = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dead = format!(
        "dead ansible_host=127.0.0.1 ansible_port={} ansible_ssh_private_key_file={}\n",
        free_port(),
        a.client_key.display()
    );
    let inv = inventory(home.path(), &[&a], &dead);
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - file: path={{ out }}/{{ inventory_hostname }} state=directory\n    - file: path={{ out }}/{{ inventory_hostname }}/x state=touch\n",
    );
    let out_path = out.path().display().to_string();
    let (report, _) = play(&capstan, &site, &inv, |o| {
        o.extra_vars.insert("out".into(), out_path.clone().into());
    })
    .await;
    assert_eq!(counts(recap_of(&report, "dead")), (0, 0, 1, 0, 0, 0));
    assert_eq!(counts(recap_of(&report, "h1")), (2, 2, 0, 0, 0, 0));
    assert!(report.failed());
    assert!(out.path().join("h1/x").exists());
    let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
    let dead_task = tasks.iter().find(|t| t.host == "dead").unwrap();
    assert!(
        dead_task.summary.contains("127.0.0.1"),
        "{}",
        dead_task.summary
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_named_by_a_template_is_resolved_on_each_host() {
    let (home, capstan) = engine();
    let inv = local_inventory(
        home.path(),
        &[("box", "tool=debug"), ("box2", "tool='{{ nope }}'")],
    );
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - action: "{{ tool }}"
      args:
        msg: resolved
    - action: "{{ tool }}"
      args:
        msg: skipped where the module is unknown
      when: false
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert_eq!(counts(recap_of(&report, "box")), (1, 0, 0, 0, 1, 0));
    assert_eq!(counts(recap_of(&report, "box2")), (0, 0, 0, 1, 0, 0));
    let failure = first_failure(&events);
    // The message quotes the template it could not render, as data.
    assert!(
        failure.contains("the module name cannot be rendered"),
        "{failure}"
    );
    assert!(failure.contains("nope"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_stop_the_host_unless_ignored_and_name_undefined_variables() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", ""), ("box2", "")]);
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: /bin/false
      ignore_errors: true
      register: r
    - debug: msg="rc was {{ r.rc }}"
    - shell: exit 3
      register: three
      failed_when: three.rc not in [0, 3]
    - debug:
        msg: "{{ nope }}"
      when: inventory_hostname == 'box'
    - debug: msg=after
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    // What ansible-core 2.19 prints for this playbook.
    assert_eq!(counts(recap_of(&report, "box")), (3, 2, 0, 1, 0, 1));
    assert_eq!(counts(recap_of(&report, "box2")), (4, 2, 0, 0, 1, 1));
    let failure = first_failure(&events);
    assert!(failure.contains("'nope' is undefined"), "{failure}");
    assert!(failure.contains("site.yml:11:7"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_whose_errors_were_cleared_fails_neither_the_run_nor_its_recap_count() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("h1", ""), ("h2", "")]);
    // Ansible's own 72725.yml, less its assert.
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - block:
        - fail:
          when: inventory_hostname == 'h1'
      always:
        - meta: clear_host_errors
    - debug: msg=after
"#,
    );
    let (report, _) = play(&capstan, &site, &inv, |_| {}).await;
    let h1 = recap_of(&report, "h1");
    // As ansible-core 2.19: the failure stays counted, the run succeeds.
    assert_eq!(counts(h1), (1, 0, 0, 1, 0, 0));
    assert!(h1.cleared && !h1.fails_run());
    assert!(!report.failed());
    // A host that fails again after its errors were cleared fails the run.
    let again = write(
        home.path(),
        "again.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - block:
        - fail:
          when: inventory_hostname == 'h1'
      always:
        - meta: clear_host_errors
    - fail:
      when: inventory_hostname == 'h1'
"#,
    );
    let (report, _) = play(&capstan, &again, &inv, |_| {}).await;
    assert!(!recap_of(&report, "h1").cleared);
    assert!(report.failed());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_play_host_lists_leave_out_hosts_that_failed_until_their_errors_are_cleared() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("h1", ""), ("h2", "")]);
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - assert:
        that: ansible_play_hosts == ['h1', 'h2'] and ansible_play_batch == ['h1', 'h2']
    - block:
        - fail:
          when: inventory_hostname == 'h1'
      rescue:
        - fail:
          when: inventory_hostname == 'h1'
    - assert:
        that:
          - ansible_play_hosts == ['h2'] and ansible_play_batch == ['h2']
          - ansible_play_hosts_all == ['h1', 'h2']
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    // Ansible's 78612.yml: h1 failed in its rescue, and left the lists.
    assert_eq!(
        counts(recap_of(&report, "h2")).3,
        0,
        "{}",
        first_failure(&events)
    );
    assert_eq!(recap_of(&report, "h1").failed, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn handlers_may_be_includes_metas_and_blocks_of_handlers() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    write(
        home.path(),
        "restart.yml",
        "- debug: msg=included-one\n- debug: msg=included-two\n",
    );
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      notify: [restart, in a block, by topic, noop]
      tags: [work]
  handlers:
    - name: restart
      include_tasks: restart.yml
    - name: listening include
      include_tasks: "{{ 'restart' }}.yml"
      listen: by topic
    - name: a block of handlers
      block:
        - name: in a block
          debug: msg=from-the-block
    - name: noop
      meta: noop
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert!(!report.failed(), "{}", first_failure(&events));
    let said: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            PlaybookEvent::HostDone(o) if o.module == "debug" => Some(o.summary.clone()),
            _ => None,
        })
        .collect();
    // Each include ran its two tasks (the templated one read during the
    // run), and the block's task answered to its own name.
    assert_eq!(
        said.iter().filter(|s| s.contains("included-one")).count(),
        2,
        "{said:?}"
    );
    assert_eq!(
        said.iter().filter(|s| s.contains("from-the-block")).count(),
        1
    );
    // The included tasks ran as handlers even with --tags choosing others.
    let (report, events) = play(&capstan, &site, &inv, |o| o.tags = vec!["work".into()]).await;
    assert!(!report.failed());
    assert_eq!(results_saying(&events, "included-two"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notification_no_handler_answers_fails_its_task_when_made() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // As Ansible looks it up: when the task notifies, so a task that
    // changes nothing (or is skipped) may name a handler that is not there.
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      changed_when: false
      notify: nobody
    - command: "true"
      when: false
      notify: nobody
    - command: "true"
      notify: nobody
    - debug: msg=never
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert_eq!(counts(recap_of(&report, "box")), (1, 0, 0, 1, 1, 0));
    let failure = first_failure(&events);
    assert!(
        failure.contains(
            "The requested handler 'nobody' was not found in either the main handlers list nor \
             in the listening handlers list"
        ),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_may_be_a_template() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("h1", ""), ("h2", "")]);
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - debug: msg=ran
      run_once: "{{ once | default(false) }}"
"#,
    );
    let (_, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert_eq!(results_saying(&events, "ran"), 2);
    let (_, events) = play(&capstan, &site, &inv, |o| {
        o.extra_vars.insert("once".into(), serde_json::json!(true));
    })
    .await;
    assert_eq!(results_saying(&events, "ran"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn flush_handlers_flushes_the_hosts_its_when_holds_on() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("h1", ""), ("h2", "")]);
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      notify: handler
    - meta: flush_handlers
      when: inventory_hostname == 'h1'
    - debug: msg=between
  handlers:
    - name: handler
      debug: msg=handler-ran
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert!(!report.failed());
    let order: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            PlaybookEvent::HostDone(o) if o.module == "debug" => {
                Some(format!("{} {}", o.host, o.summary))
            }
            _ => None,
        })
        .collect();
    // h1 ran its handler at the flush; h2 only at the end of the play.
    let at = |text: &str| order.iter().position(|l| l == text).unwrap_or(usize::MAX);
    assert!(at("h1 handler-ran") < at("h1 between"), "{order:?}");
    assert!(at("h2 between") < at("h2 handler-ran"), "{order:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn flush_handlers_cannot_be_a_handler() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      notify: flush
  handlers:
    - name: flush
      meta: flush_handlers
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert!(report.failed());
    assert!(
        first_failure(&events).contains("flush_handlers cannot be used as a handler"),
        "{}",
        first_failure(&events)
    );
}

#[tokio::test]
async fn bad_playbooks_are_refused_with_file_line_and_column() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    let cases = [
        (
            "- hosts: all\n  tasks:\n    - copy: {dest: /x\n",
            "bad.yml:",
            "malformed YAML",
        ),
        (
            "- hosts: all\n  tasks:\n    - name: x\n      coppy: dest=/x\n",
            "bad.yml:4:7",
            "unknown module `coppy` (did you mean `copy`?)",
        ),
        (
            "- hosts: all\n  tasks:\n    - local_action: {dest: /x}\n",
            "bad.yml:3:21",
            "`local_action:` as a mapping names its module with `module:`",
        ),
        (
            "- hosts: all\n  roles: [web]\n",
            "bad.yml:2:11",
            "no role `web` (looked in ",
        ),
        (
            "- hosts: all\n  serial: fast\n  tasks: []\n",
            "bad.yml:2:11",
            "serial takes a number of hosts, a whole percentage",
        ),
        (
            "- hosts: all\n  max_fail_percentage: 120\n  tasks: []\n",
            "bad.yml:2:24",
            "max_fail_percentage takes a number from 0 to 100",
        ),
        (
            "- hosts: all\n  tasks:\n    - command: \"true\"\n      retries: many\n",
            "bad.yml:4:16",
            "`retries` takes a whole number",
        ),
        (
            "- hosts: cache\n  tasks: []\n",
            "bad.yml:1:3",
            "no host or group is called `cache`",
        ),
        (
            "- hosts: all\n  handlers:\n    - name: h\n      include_role: {name: web}\n",
            "bad.yml:4:7",
            "Using 'include_role' as a handler is not supported.",
        ),
        (
            "- hosts: all\n  handlers:\n    - block:\n        - block: []\n",
            "bad.yml:4:11",
            "Using a block as a handler is not supported.",
        ),
    ];
    for (text, at, message) in cases {
        let bad = write(home.path(), "bad.yml", text);
        let err = refused(&capstan, bad, Some(inv.clone())).await;
        assert!(err.contains(at) && err.contains(message), "{text:?}: {err}");
    }
    assert!(
        capstan.jobs(10).unwrap().is_empty(),
        "a refused playbook left a job"
    );
}

/// Why `playbook` (on `inventory`, or the stored hosts) is refused.
async fn refused(
    capstan: &capstan_engine::Capstan,
    playbook: PathBuf,
    inventory: Option<PathBuf>,
) -> String {
    let options = PlaybookOptions {
        playbook,
        inventory,
        ..Default::default()
    };
    capstan
        .run_playbook(options, Arc::new(|_| {}))
        .await
        .expect_err("the run is refused")
        .to_string()
}

fn sh(script: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn git_clones_updates_and_keeps_local_changes() {
    let a = Sshd::start();
    let (home, capstan) = engine();
    let work = tempfile::tempdir().unwrap();
    let w = work.path().display();
    let first = sh(&format!(
        "set -e; git init -q --bare {w}/repo.git; git init -q -b main {w}/src; cd {w}/src; \
         git -c user.name=t -c user.email=t@t commit -q --allow-empty -m one; git tag v1; \
         git remote add origin {w}/repo.git; git push -q origin main v1; git rev-parse HEAD"
    ));
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - git: repo={{ repo }} dest={{ dest }} version={{ v }}\n      register: co\n    - copy: dest={{ dest }}.after content={{ co.after }}\n",
    );
    let run = |v: &'static str| {
        let (repo, dest) = (format!("{w}/repo.git"), format!("{w}/checkout"));
        move |o: &mut PlaybookOptions| {
            o.extra_vars.insert("repo".into(), repo.into());
            o.extra_vars.insert("dest".into(), dest.into());
            o.extra_vars.insert("v".into(), v.into());
        }
    };
    let (report, _) = play(&capstan, &site, &inv, run("main")).await;
    assert_eq!(counts(recap_of(&report, "h1")), (2, 2, 0, 0, 0, 0));
    assert_eq!(
        std::fs::read_to_string(format!("{w}/checkout.after")).unwrap(),
        first
    );
    let (report, _) = play(&capstan, &site, &inv, run("main")).await;
    assert_eq!(counts(recap_of(&report, "h1")), (2, 0, 0, 0, 0, 0));

    let second = sh(&format!(
        "set -e; cd {w}/src; git -c user.name=t -c user.email=t@t commit -q --allow-empty -m two; \
         git push -q origin main; git rev-parse HEAD"
    ));
    let (report, _) = play(&capstan, &site, &inv, run("main")).await;
    assert_eq!(recap_of(&report, "h1").changed, 2);
    assert_eq!(sh(&format!("git -C {w}/checkout rev-parse HEAD")), second);

    // A local change is never thrown away without force.
    sh(&format!(
        "cd {w}/checkout && echo local > tracked && git add tracked"
    ));
    let (report, events) = play(&capstan, &site, &inv, run("v1")).await;
    assert_eq!(recap_of(&report, "h1").failed, 1);
    let failure = first_failure(&events);
    assert!(failure.contains("local modifications"), "{failure}");
}

/// An init script managing a `sleep`, for the service tests.
const INIT_SCRIPT: &str = r#"#!/bin/sh
### BEGIN INIT INFO
# Provides:          capstan-test-svc
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: Capstan test service
### END INIT INFO
pid=/tmp/capstan-test-svc.pid
running() { [ -f $pid ] && kill -0 "$(cat $pid)" 2>/dev/null; }
case "$1" in
  start) running || { sleep 1000 >/dev/null 2>&1 & echo $! > $pid; } ;;
  stop) running && kill "$(cat $pid)"; rm -f $pid ;;
  restart|reload|force-reload) $0 stop; $0 start ;;
  status) running ;;
  *) exit 2 ;;
esac
"#;

#[tokio::test(flavor = "multi_thread")]
async fn services_start_stop_and_enable_through_init_scripts() {
    if std::path::Path::new("/run/systemd/system").exists() {
        panic!(
            "this test drives an init script; the machine runs systemd, which needs a unit instead"
        );
    }
    let a = Sshd::start();
    let (home, capstan) = engine();
    let script = "/etc/init.d/capstan-test-svc";
    std::fs::write(script, INIT_SCRIPT).unwrap();
    sh(&format!(
        "chmod 755 {script}; {script} stop; update-rc.d -f capstan-test-svc remove >/dev/null 2>&1 || true"
    ));
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - service: name=capstan-test-svc state={{ want }} enabled={{ boot }}\n",
    );
    let with = |want: &'static str, boot: &'static str| {
        move |o: &mut PlaybookOptions| {
            o.extra_vars.insert("want".into(), want.into());
            o.extra_vars.insert("boot".into(), boot.into());
        }
    };
    let (report, _) = play(&capstan, &site, &inv, with("started", "yes")).await;
    assert_eq!(counts(recap_of(&report, "h1")), (1, 1, 0, 0, 0, 0));
    assert!(sh(&format!("{script} status && echo up")).contains("up"));
    assert!(!sh("ls /etc/rc2.d/ | grep capstan-test-svc || true").is_empty());
    let (report, _) = play(&capstan, &site, &inv, with("started", "yes")).await;
    assert_eq!(counts(recap_of(&report, "h1")), (1, 0, 0, 0, 0, 0));
    let (report, _) = play(&capstan, &site, &inv, with("stopped", "no")).await;
    assert_eq!(counts(recap_of(&report, "h1")), (1, 1, 0, 0, 0, 0));
    assert_eq!(sh(&format!("{script} status || echo down")), "down");
    let (report, _) = play(&capstan, &site, &inv, with("stopped", "no")).await;
    assert_eq!(recap_of(&report, "h1").changed, 0);
    sh(&format!(
        "update-rc.d -f capstan-test-svc remove >/dev/null; rm -f {script}"
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn apt_installs_and_removes_packages_from_a_local_repository() {
    let a = Sshd::start();
    let (home, capstan) = engine();
    let repo = tempfile::tempdir().unwrap();
    let r = repo.path().display();
    let list = "/etc/apt/sources.list.d/capstan-test.list";
    // A one-package repository: built here, read through a file: source,
    // and only this source is refreshed, so nothing leaves the machine.
    sh(&format!(
        "set -e; mkdir -p {r}/pkg/DEBIAN {r}/pkg/usr/share/capstan-test-hello; \
         echo hello > {r}/pkg/usr/share/capstan-test-hello/hello; \
         printf 'Package: capstan-test-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Capstan <t@t>\\nDescription: test package\\n' > {r}/pkg/DEBIAN/control; \
         dpkg-deb -Zgzip --build {r}/pkg {r}/capstan-test-hello_1.0_all.deb >/dev/null; \
         cd {r}; f=capstan-test-hello_1.0_all.deb; \
         printf 'Package: capstan-test-hello\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: Capstan <t@t>\\nFilename: ./%s\\nSize: %s\\nSHA256: %s\\nDescription: test package\\n\\n' \
           $f $(stat -c %s $f) $(sha256sum $f | cut -d' ' -f1) > Packages; \
         echo 'deb [trusted=yes] file:{r} ./' > {list}; \
         apt-get update -qq -o Dir::Etc::sourcelist={list} -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0; \
         dpkg -r capstan-test-hello >/dev/null 2>&1 || true"
    ));
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - apt:\n        name: \"{{ pkgs }}\"\n        state: \"{{ st }}\"\n        update_cache: yes\n        cache_valid_time: 86400\n",
    );
    let with = |pkgs: &'static str, st: &'static str| {
        move |o: &mut PlaybookOptions| {
            o.extra_vars.insert("pkgs".into(), pkgs.into());
            o.extra_vars.insert("st".into(), st.into());
        }
    };
    let installed = || std::path::Path::new("/usr/share/capstan-test-hello/hello").exists();
    let (report, _) = play(&capstan, &site, &inv, with("capstan-test-hello", "present")).await;
    let outcome = (counts(recap_of(&report, "h1")), installed());
    let (again, _) = play(&capstan, &site, &inv, with("capstan-test-hello", "present")).await;
    let (removed, _) = play(&capstan, &site, &inv, with("capstan-test-hello", "absent")).await;
    let gone = !installed();
    let (bad, events) = play(
        &capstan,
        &site,
        &inv,
        with("capstan-no-such-package", "present"),
    )
    .await;
    let (evil, evil_events) = play(&capstan, &site, &inv, with("x;rm -rf /", "present")).await;
    sh(&format!(
        "rm -f {list}; dpkg -r capstan-test-hello >/dev/null 2>&1 || true"
    ));

    assert_eq!(outcome, ((1, 1, 0, 0, 0, 0), true));
    assert_eq!(counts(recap_of(&again, "h1")), (1, 0, 0, 0, 0, 0));
    assert_eq!(counts(recap_of(&removed, "h1")), (1, 1, 0, 0, 0, 0));
    assert!(gone);
    assert_eq!(recap_of(&bad, "h1").failed, 1);
    assert_eq!(recap_of(&evil, "h1").failed, 1);
    let summary = |events: &[PlaybookEvent]| {
        events
            .iter()
            .find_map(|e| match e {
                PlaybookEvent::HostDone(o) => Some(o.summary.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert!(
        summary(&events).contains("Unable to locate package"),
        "{}",
        summary(&events)
    );
    assert!(
        summary(&evil_events).contains("not a valid package name"),
        "{}",
        summary(&evil_events)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn become_runs_a_task_as_another_user_through_sudo() {
    let a = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    sh(&format!("chmod 1777 {}", out.path().display()));
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  become: yes\n  tasks:\n    - copy: dest={{ out }}/as-root content=x\n    - copy: dest={{ out }}/as-nobody content=x\n      become_user: nobody\n    - command: id -un\n      become_user: nobody\n      register: who\n    - assert:\n        that: who.stdout == 'nobody'\n",
    );
    let out_path = out.path().display().to_string();
    let (report, _) = play(&capstan, &site, &inv, |o| {
        o.extra_vars.insert("out".into(), out_path.clone().into());
    })
    .await;
    assert_eq!(counts(recap_of(&report, "h1")), (4, 3, 0, 0, 0, 0));
    let owner = |name: &str| {
        std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(out.path().join(name)).unwrap())
    };
    assert_eq!(owner("as-root"), 0);
    assert_eq!(owner("as-nobody"), 65534);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_key_or_a_changed_host_key_is_named_and_the_others_finish() {
    let good = Sshd::start();
    let other = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    // h2 is offered h1's client key, which its sshd does not accept.
    let wrong_key = format!(
        "h2 ansible_host=127.0.0.1 ansible_port={} ansible_ssh_private_key_file={}\n",
        other.port,
        good.client_key.display()
    );
    let inv = inventory(home.path(), &[&good], &wrong_key);
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - file: path={{ out }}/{{ inventory_hostname }} state=directory\n",
    );
    let out_path = out.path().display().to_string();
    let options = |o: &mut PlaybookOptions| {
        o.extra_vars.insert("out".into(), out_path.clone().into());
    };
    let (report, events) = play(&capstan, &site, &inv, options).await;
    assert_eq!(counts(recap_of(&report, "h1")), (1, 1, 0, 0, 0, 0));
    assert_eq!(recap_of(&report, "h2").unreachable, 1);
    let why = |events: &[PlaybookEvent], host: &str| {
        events
            .iter()
            .find_map(|e| match e {
                PlaybookEvent::HostDone(o) if o.host == host => Some(o.summary.clone()),
                _ => None,
            })
            .unwrap()
    };
    assert!(
        why(&events, "h2").contains("refused the key"),
        "{}",
        why(&events, "h2")
    );

    // h1 is reinstalled: same port, new host key. Refused, never trusted,
    // even with --trust-new-hosts.
    let good = good.reinstall();
    let inv = inventory(home.path(), &[&good], "");
    let (report, events) = play(&capstan, &site, &inv, options).await;
    assert_eq!(recap_of(&report, "h1").unreachable, 1);
    assert!(
        why(&events, "h1").contains("HOST KEY CHANGED"),
        "{}",
        why(&events, "h1")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_that_dies_mid_run_is_unreachable_and_the_others_finish() {
    let a = Sshd::start();
    let mut b = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let inv = inventory(home.path(), &[&a, &b], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n    - file: path={{ out }}/{{ inventory_hostname }} state=directory\n    - shell: touch {{ out }}/{{ inventory_hostname }}/started && sleep 3\n    - file: path={{ out }}/{{ inventory_hostname }}/done state=touch\n",
    );
    let out_path = out.path().to_path_buf();
    let watched = out_path.join("h2/started");
    // Pull h2's plug once its long command has started.
    let killer = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !watched.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        b.kill_with_connections();
    });
    let shown = out_path.display().to_string();
    let (report, _) = play(&capstan, &site, &inv, |o| {
        o.extra_vars.insert("out".into(), shown.clone().into());
    })
    .await;
    killer.join().unwrap();
    assert_eq!(counts(recap_of(&report, "h1")), (3, 3, 0, 0, 0, 0));
    assert_eq!(counts(recap_of(&report, "h2")), (1, 1, 1, 0, 0, 0));
    assert!(out_path.join("h1/done").exists());
    assert!(!out_path.join("h2/done").exists());
    // The job is complete in the history, with h2's unreachable task.
    let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
    assert!(
        tasks
            .iter()
            .any(|t| t.host == "h2" && t.status.name() == "unreachable"),
        "{tasks:#?}"
    );
    assert_eq!(capstan.job(report.job_id).unwrap().state.name(), "finished");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_log_keeps_a_tasks_result_out_of_every_record() {
    const TOKEN: &str = "tok-7f3a-never-stored";
    let a = Sshd::start();
    let (home, capstan) = engine();
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - command: echo {{ token }}\n      register: out\n      no_log: true\n\
         \x20   - assert:\n        that: out.stdout == token\n\
         \x20   - debug:\n        msg: \"{{ out.stdout }}\"\n      no_log: yes\n\
         - hosts: all\n  gather_facts: no\n  no_log: true\n  tasks:\n\
         \x20   - command: echo {{ token }} again\n\
         \x20   - command: echo shown\n      no_log: false\n",
    );
    let (report, events) = play(&capstan, &site, &inv, |o| {
        o.diff = true;
        o.extra_vars.insert("token".into(), TOKEN.into());
    })
    .await;
    assert_eq!(counts(recap_of(&report, "h1")), (5, 3, 0, 0, 0, 0));
    let shown = format!("{events:?}");
    assert!(!shown.contains(TOKEN), "events: {shown}");
    assert!(shown.contains("'no_log: true' was specified"), "{shown}");
    assert!(
        shown.contains("shown"),
        "a task that says no_log: false is shown"
    );
    assert_no_file_holds(home.path(), TOKEN, "token");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_variable_works_and_is_masked_in_every_record() {
    const TOKEN: &str = "sec-91b2-masked-everywhere";
    let a = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let inv = inventory(home.path(), &[&a], "");
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: no\n  tasks:\n\
         \x20   - name: use {{ token }}\n      command: echo {{ token }}\n      register: said\n\
         \x20   - debug:\n        msg: \"{{ said.stdout }}\"\n\
         \x20   - copy: dest={{ out }}/token content={{ token }}\n",
    );
    let out_path = out.path().display().to_string();
    let (report, events) = play(&capstan, &site, &inv, |o| {
        o.diff = true;
        o.extra_vars.insert("token".into(), TOKEN.into());
        o.extra_vars.insert("out".into(), out_path.clone().into());
        o.secret_vars = vec!["token".into()];
    })
    .await;
    assert_eq!(counts(recap_of(&report, "h1")), (3, 2, 0, 0, 0, 0));
    assert_eq!(
        std::fs::read_to_string(out.path().join("token")).unwrap(),
        TOKEN,
        "the secret itself is used"
    );
    let shown = format!("{events:?}");
    assert!(!shown.contains(TOKEN), "events: {shown}");
    assert!(shown.contains("use ********"), "{shown}");
    assert_no_file_holds(home.path(), TOKEN, "secret");
}

/// A task's plugin reaches its own host and the play's other hosts after
/// `--limit`, never the rest of the inventory: a third-party plugin named
/// `capstan.probe.exec-elsewhere` tries each host of the inventory.
#[tokio::test]
async fn a_tasks_plugin_reaches_only_the_plays_hosts_after_the_limit() {
    let fleet = [Sshd::start(), Sshd::start(), Sshd::start()];
    let (home, capstan) = engine();
    crate::support::install_probe(
        &capstan,
        &[capstan_engine::capability::Capability::RemoteExec],
    )
    .await;
    let dir = home.path();
    let inv = inventory(dir, &[&fleet[0], &fleet[1], &fleet[2]], "");
    let site = write(
        dir,
        "reach.yml",
        "- hosts: 'web:!h3'\n  gather_facts: false\n  tasks:\n\
         \x20   - capstan.probe.exec-elsewhere: {host: '{{ item }}'}\n\
         \x20     loop: [h1, h2, h3]\n\
         \x20     ignore_errors: true\n",
    );
    let reached = |events: &[PlaybookEvent]| -> Vec<(String, String)> {
        events
            .iter()
            .filter_map(|e| match e {
                PlaybookEvent::HostDone(o) => Some(o),
                _ => None,
            })
            .flat_map(|o| {
                o.result["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let said = if r["failed"] == true {
                            r["msg"].as_str().unwrap_or_default().to_string()
                        } else {
                            r["stdout"].as_str().unwrap_or_default().trim().to_string()
                        };
                        (format!("{}→{}", o.host, r["item"].as_str().unwrap()), said)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };

    let (_, events) = play(&capstan, &site, &inv, |_| {}).await;
    let mut seen = reached(&events);
    seen.sort();
    let refused = |host: &str| format!("target `{host}` is not part of this run");
    for (pair, said) in &seen {
        let wanted = if pair.ends_with("h3") {
            refused("h3")
        } else {
            "reached".to_string()
        };
        assert!(
            said.contains(&wanted),
            "{pair}: `{said}` should say `{wanted}`"
        );
    }
    assert_eq!(seen.len(), 6, "{seen:?}");

    let (_, events) = play(&capstan, &site, &inv, |o| o.limit = Some("h1".into())).await;
    let seen = reached(&events);
    let said: Vec<(&str, bool)> = seen
        .iter()
        .map(|(pair, said)| (pair.as_str(), said == "reached"))
        .collect();
    assert_eq!(
        said,
        [("h1→h1", true), ("h1→h2", false), ("h1→h3", false)],
        "{seen:?}"
    );
    assert!(seen[1].1.contains(&refused("h2")), "{seen:?}");
}

/// A play whose `hosts:` cannot be rendered stops the run there, as in
/// Ansible: the run and its job are failed with the reason, the plays
/// before it ran, the ones after it do not. One whose pattern matches
/// nothing is skipped with a warning.
#[tokio::test]
async fn a_play_whose_hosts_cannot_be_rendered_fails_the_run_by_name() {
    let sshd = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = home.path();
    let inv = inventory(dir, &[&sshd], "");
    let site = write(
        dir,
        "stops.yml",
        &format!(
            "- name: one\n  hosts: web\n  gather_facts: false\n  tasks:\n\
             \x20   - file: path={out}/one state=touch\n\
             - name: nowhere\n  hosts: \"{{{{ 'nosuch' }}}}\"\n  tasks: []\n\
             - name: two\n  hosts: \"{{{{ nope }}}}\"\n  tasks:\n\
             \x20   - file: path={out}/two state=touch\n\
             - name: three\n  hosts: web\n  gather_facts: false\n  tasks:\n\
             \x20   - file: path={out}/three state=touch\n",
            out = out.path().display()
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let error = report.error.clone().expect("the run stopped");
    assert!(
        error.contains("stops.yml:9:3: play `two`: hosts:"),
        "{error}"
    );
    // A pattern that names nothing skips its play with a warning, as in
    // Ansible; the run goes on to the next play.
    let warned = events.iter().find_map(|e| match e {
        PlaybookEvent::Play { name, warning, .. } if name == "nowhere" => warning.clone(),
        _ => None,
    });
    let warned = warned.expect("the unmatched play warns");
    assert!(
        warned.contains("play `nowhere`: no host or group is called `nosuch`; skipping it"),
        "{warned}"
    );
    assert!(error.contains("nope"), "{error}");
    assert!(report.failed());
    assert!(out.path().join("one").exists());
    assert!(!out.path().join("two").exists() && !out.path().join("three").exists());
    assert!(events.iter().any(
        |e| matches!(e, PlaybookEvent::Finished { error: Some(e), .. } if e.contains("nope"))
    ));
    // The warning is also a line of the run's log, announced and saved.
    assert!(
        events.iter().any(
            |e| matches!(e, PlaybookEvent::Log(line) if line.message.contains("play `nowhere`"))
        )
    );
    let logs = capstan.job_logs(report.job_id).unwrap();
    assert!(
        logs.iter().any(|l| l.message.contains("play `nowhere`")),
        "{logs:?}"
    );
    let job = capstan.job(report.job_id).unwrap();
    assert_eq!(job.error.as_deref(), Some(error.as_str()));
    assert_eq!(
        job.overall(),
        Some(capstan_engine::jobs::ResultStatus::Failed)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_include_whose_file_a_host_cannot_find_fails_that_host_by_name() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "part=here"), ("box2", "part=gone")]);
    write(
        home.path(),
        "here.yml",
        "- debug: msg=\"found {{ part }}\"\n",
    );
    let site = write(
        home.path(),
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_tasks: \"{{ part }}.yml\"\n    - debug: msg=after\n",
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    // The inclusion counts ok, as in Ansible; then its task and the next.
    assert_eq!(counts(recap_of(&report, "box")), (3, 0, 0, 0, 0, 0));
    assert_eq!(counts(recap_of(&report, "box2")), (0, 0, 0, 1, 0, 0));
    let failure = events
        .iter()
        .find_map(|e| match e {
            PlaybookEvent::HostDone(o) if o.host == "box2" => Some(o.summary.clone()),
            _ => None,
        })
        .unwrap();
    assert!(failure.contains("no task file `gone.yml`"), "{failure}");
    assert!(failure.contains("site.yml:4:7"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn include_vars_reads_a_mapping_and_names_a_file_it_cannot_find() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    write(home.path(), "vars/app.yml", "port: 8080\nname: shop\n");
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - include_vars: app.yml
    - include_vars: {file: app.yml, name: app}
    - assert:
        that: [port == 8080, app.name == 'shop']
    - include_vars: nowhere.yml
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert_eq!(counts(recap_of(&report, "box")), (3, 0, 0, 1, 0, 0));
    let failure = first_failure(&events);
    assert!(
        failure.contains("Could not find file `nowhere.yml`"),
        "{failure}"
    );
    assert!(failure.contains("site.yml:8:7"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delegate_outside_the_inventory_is_refused_by_name() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // Not in Capstan's own folder, which no plugin may reach.
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - copy: dest={out}/local content=x
      delegate_to: localhost
    - command: "true"
      delegate_to: "{{{{ 'db' ~ '-9' }}}}"
"#,
            out = out.display()
        ),
    );
    std::fs::create_dir_all(&out).unwrap();
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    assert_eq!(counts(recap_of(&report, "box")), (1, 1, 0, 1, 0, 0));
    assert!(out.join("local").exists());
    let failure = first_failure(&events);
    assert!(
        failure.contains("delegate_to `db-9` is neither a host of the inventory nor localhost"),
        "{failure}"
    );
    assert!(failure.contains("site.yml:6:7"), "{failure}");
}

#[tokio::test(flavor = "multi_thread")]
async fn group_vars_beside_the_playbook_reach_hosts_capstan_keeps() {
    let (home, capstan) = engine();
    capstan
        .import_inventory_text(
            "hosts.ini",
            "[web]\nbox ansible_connection=local own=host\n",
        )
        .unwrap();
    write(home.path(), "group_vars/all.yml", "tier: base\nown: all\n");
    write(home.path(), "group_vars/web.yml", "tier: web\n");
    write(home.path(), "host_vars/box.yml", "last: box\n");
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: web
  gather_facts: false
  tasks:
    - assert:
        that: [tier == 'web', own == 'host', last == 'box']
"#,
    );
    let options = PlaybookOptions {
        playbook: site,
        ..Default::default()
    };
    let report = capstan
        .run_playbook(options, Arc::new(|_| {}))
        .await
        .unwrap();
    assert_eq!(counts(recap_of(&report, "box")), (1, 0, 0, 0, 0, 0));

    write(home.path(), "group_vars/web.yml", "- not\n- a mapping\n");
    let err = refused(&capstan, home.path().join("site.yml"), None).await;
    assert!(err.contains("group_vars/web.yml:1:1"), "{err}");
    assert_eq!(
        capstan.jobs(10).unwrap().len(),
        1,
        "the refused run left a job"
    );
}

/// `text` indented by `spaces` on every line after the first.
fn indent_rest(text: &str, spaces: usize) -> String {
    text.trim_end()
        .lines()
        .collect::<Vec<_>>()
        .join(&format!("\n{}", " ".repeat(spaces)))
}

#[tokio::test(flavor = "multi_thread")]
async fn vaulted_values_open_with_the_password_and_are_masked_everywhere() {
    use capstan_engine::vault::encrypt;
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    std::fs::write(
        home.path().join("secrets.yml"),
        encrypt("pw-1", "token: supersecret-1\n"),
    )
    .unwrap();
    let password = write(home.path(), "vault-pass", "pw-1\n");
    let wrong = write(home.path(), "wrong-pass", "pw-2\n");
    let inline = indent_rest(&encrypt("pw-1", "inline-secret-2"), 6);
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  vars_files: [secrets.yml]
  vars:
    mail: !vault |
      {inline}
  tasks:
    - debug:
        msg: "token {{{{ token }}}} and {{{{ mail }}}}"
    - command: echo {{{{ token }}}}
      register: said
    - assert:
        that: [said.stdout == 'supersecret-1', mail == 'inline-secret-2']
"#
        ),
    );
    let run = |files: Vec<PathBuf>| {
        let options = PlaybookOptions {
            playbook: site.clone(),
            inventory: Some(inv.clone()),
            vault_password_files: files,
            ..Default::default()
        };
        let capstan = &capstan;
        async move { capstan.run_playbook(options, Arc::new(|_| {})).await }
    };
    for (files, says) in [
        (Vec::new(), "no vault password was given"),
        (vec![wrong.clone()], "no vault password given opens it"),
    ] {
        let err = run(files).await.unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
        assert!(err.contains("site.yml:6:7"), "names the value: {err}");
    }
    assert!(
        capstan.jobs(10).unwrap().is_empty(),
        "a refused run left a job"
    );
    // The inline value alone: the file is named where the whole file is.
    let only_file = write(
        home.path(),
        "file-only.yml",
        "- hosts: all\n  gather_facts: false\n  vars_files: [secrets.yml]\n  tasks: []\n",
    );
    let err = refused(&capstan, only_file, Some(inv.clone())).await;
    assert!(err.contains("secrets.yml:1:1"), "{err}");

    let report = run(vec![password]).await.unwrap();
    assert_eq!(counts(recap_of(&report, "box")), (3, 1, 0, 0, 0, 0));
    let tasks = capstan.store().task_outcomes(report.job_id).unwrap();
    let stored = serde_json::to_string(&tasks).unwrap();
    assert!(stored.contains("********"), "{stored}");
    for secret in ["supersecret-1", "inline-secret-2"] {
        assert!(!stored.contains(secret), "{secret} was stored: {stored}");
    }
}

/// Forms Ansible's own integration tests use: argument splatting, an
/// empty task file, `include_vars` of a folder, a templated strategy,
/// `meta: clear_host_errors` in an `always:`, `timeout`, `remote_user` on
/// this machine, `localhost` in an inventory (with a comment), `copy` into
/// a folder and with `validate`, `tempfile`, `ping` and `stat`'s fields,
/// and an ansible-core module Capstan lacks, skipped or failing by name.
#[tokio::test(flavor = "multi_thread")]
async fn forms_from_ansibles_integration_tests_run_as_ansible_runs_them() {
    let (home, capstan) = engine();
    // Outside Capstan's data folder, which no plugin may touch.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("work");
    let inv = write(
        home.path(),
        "inv.ini",
        "[all]\nlocalhost ansible_connection=local  # this machine\n",
    );
    write(home.path(), "empty.yml", "# nothing here\n");
    write(home.path(), "vars/all/a.yml", "first: 1\nshared: a\n");
    write(home.path(), "vars/all/b.yml", "second: 2\nshared: b\n");
    write(home.path(), "files/hello.txt", "hello\n");
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  strategy: "{{{{ chosen_strategy | default('linear') }}}}"
  vars:
    dir: {dir}
  tasks:
    - include_tasks: empty.yml
    - include_vars:
        dir: vars/all
      register: loaded
    - assert:
        that:
          - first == 1 and second == 2 and shared == 'b'
          - loaded.ansible_included_var_files | length == 2
    - assert: "{{{{ item }}}}"
      args:
        quiet: true
      loop:
        - that: first == 1
    - file: path={{{{ dir }}}} state=directory
      remote_user: nobody-here
    - copy: src=hello.txt dest={{{{ dir }}}}/
    - copy:
        content: "bad\n"
        dest: "{{{{ dir }}}}/checked"
        validate: grep -q good %s
      register: refused
      ignore_errors: true
    - stat: path={{{{ dir }}}}/hello.txt
      register: st
    - tempfile: state=directory path={{{{ dir }}}} suffix=.t
      register: made
    - ping:
      register: pong
    - assert:
        that:
          - refused is failed and 'failed to validate' in refused.msg
          - st.stat.checksum == 'f572d396fae9206628714fb2ce00f72e94f2258f'
          - st.stat.pw_name != '' and st.stat.rusr and st.stat.isreg
          - made.path is directory and made.path.endswith('.t')
          - pong.ping == 'pong'
          - missing.chain | default('fine') == 'fine'
    - name: slow command
      command: sleep 5
      timeout: 1
      register: slow
      ignore_errors: true
    - dnf: name=nginx
      when: false
    - name: not run yet
      slurp: src=/etc/hostname
      register: not_yet
      ignore_errors: true
    - assert:
        that: "'Capstan does not run yet' in not_yet.msg"
    - block:
        - fail: msg=deliberately
      always:
        - meta: clear_host_errors
    - copy: dest={{{{ dir }}}}/after content=went-on
"#,
            dir = dir.display()
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "localhost");
    // Ignored: the refused validate, the timeout and the module Capstan
    // lacks; failed (then cleared): the block's.
    assert_eq!(
        (recap.failed, recap.ignored, recap.unreachable),
        (1, 3, 0),
        "{}",
        first_failure(&events)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("hello.txt"))
            .ok()
            .as_deref(),
        Some("hello\n"),
        "{}",
        first_failure(&events)
    );
    assert!(
        !dir.join("checked").exists(),
        "a file that failed validate was written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("after")).unwrap(),
        "went-on",
        "clear_host_errors in always: the host goes on"
    );
    let timed_out = events.iter().find_map(|e| match e {
        PlaybookEvent::HostDone(o) if o.task == "slow command" => Some(o.summary.clone()),
        _ => None,
    });
    assert!(
        timed_out
            .as_deref()
            .is_some_and(|s| s.contains("timeout of 1 seconds")),
        "{timed_out:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waits_background_commands_and_scripts_run_over_ssh_as_ansible_runs_them() {
    let host = Sshd::start();
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let inv = inventory(home.path(), &[&host], "");
    write(
        home.path(),
        "files/greet.sh",
        "#!/bin/sh\necho \"hello $1 from $(basename \"$0\" | cut -c1-14)\"\n",
    );
    let closed = free_port();
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - name: in the background
      shell: sleep 1 && echo "ready 42 go" > {dir}/flag
      async: 30
      poll: 0
      register: job
    - name: the flag
      wait_for: path={dir}/flag search_regex='ready (?P<n>\d+) (\w+)' timeout=20
      register: flag
    - name: the background job's result
      async_status: jid={{{{ job.ansible_job_id }}}}
      register: status
      until: status.finished
      retries: 20
      delay: 1
    - async_status: jid={{{{ job.ansible_job_id }}}} mode=cleanup
      register: cleaned
    - async_status: jid={{{{ job.ansible_job_id }}}}
      register: gone
      ignore_errors: true
    - async_status: jid=../../etc
      register: escape
      ignore_errors: true
    - name: a closed port
      wait_for: port={closed} timeout=1
      register: port
      ignore_errors: true
    - name: the flag goes
      wait_for: path={dir}/flag state=absent timeout=1
      register: going
      ignore_errors: true
    - name: a pause
      wait_for: timeout=1
      register: pause
    - name: too slow
      command: sleep 5
      async: 1
      poll: 1
      register: slow
      ignore_errors: true
    - name: a script
      script: greet.sh "big world"
      register: greeted
    - name: a script with an interpreter
      script: greet.sh there
      args:
        executable: /bin/sh
        creates: "{dir}/flag"
      register: guarded
    - copy: src=greet.sh dest={dir}/
    - assert:
        that:
          - job is changed and job.started == 1 and job.finished == 0
          - job.ansible_job_id is string
          - status.finished == 1 and status.rc == 0 and status is changed
          - cleaned.erased is defined
          - gone is failed and gone.msg.startswith('could not find job')
          - escape is failed and 'is not a job id' in escape.msg
          - flag is not changed and flag.elapsed <= 15
          - flag.match_groups == ['42', 'go'] and flag.match_groupdict.n == '42'
          - port is failed and port.elapsed >= 1 and port.elapsed <= 3
          - port.msg == 'Timeout when waiting for 127.0.0.1:{closed}'
          - going is failed and going.msg.endswith('/flag to be absent.')
          - pause.elapsed >= 1 and pause.elapsed <= 3
          - "slow.msg == 'async task did not complete within the requested time - 1s'"
          - greeted.stdout == 'hello big world from capstan-script'
          - greeted is changed and greeted.rc == 0
          - guarded is not changed
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "h1");
    assert_eq!(
        (recap.failed, recap.ignored, recap.unreachable),
        (0, 5, 0),
        "{}",
        first_failure(&events)
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("greet.sh")).unwrap(),
        std::fs::read_to_string(home.path().join("files/greet.sh")).unwrap(),
        "copy into a folder, named after its src"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("capstan"))
        .collect();
    assert!(leftovers.is_empty(), "scratch files left: {leftovers:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_play_with_connection_local_runs_on_this_machine_and_never_reaches_its_hosts() {
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    // Nothing listens on this host's port: reaching it would fail.
    let inv = write(
        home.path(),
        "inv.ini",
        &format!(
            "[api]\nendpoint-1 ansible_host=127.0.0.1 ansible_port={} ansible_user=nobody\n",
            free_port()
        ),
    );
    let odd = write(
        home.path(),
        "odd.yml",
        "- hosts: api\n  connection: telepathy\n  tasks: []\n",
    );
    let why = refused(&capstan, odd, Some(inv.clone())).await;
    assert!(
        why.contains("connection `telepathy` is not one Capstan has") && why.contains(":2:"),
        "{why}"
    );
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: api
  connection: local
  serial: 1
  tasks:
    - copy:
        dest: "{dir}/{{{{ inventory_hostname }}}}"
        content: "{{{{ ansible_os_family }}}}\n"
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "endpoint-1");
    assert_eq!(
        (recap.changed, recap.unreachable, recap.failed),
        (1, 0, 0),
        "{events:?}"
    );
    assert_eq!(
        std::fs::read_to_string(out.path().join("endpoint-1")).unwrap(),
        "Debian\n",
        "facts and the file come from this machine, under the host's name"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn localhost_is_implicit_this_machine_in_no_group_when_the_inventory_lacks_it() {
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    // Nothing listens on this host's port: a play reaching it would fail.
    let inv = write(
        home.path(),
        "inv.ini",
        &format!(
            "[api]\nendpoint-1 ansible_host=127.0.0.1 ansible_port={} ansible_user=nobody\n",
            free_port()
        ),
    );
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: localhost
  gather_facts: false
  tasks:
    - copy:
        dest: "{dir}/{{{{ inventory_hostname }}}}"
        content: "{{{{ groups['all'] | join(',') }}}} {{{{ group_names | length }}}}\n"
    - set_fact:
        built: yes
- hosts: all:!endpoint-1
  gather_facts: false
  tasks:
    - fail:
        msg: "all must not hold the implicit localhost"
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "localhost");
    assert_eq!(
        (recap.ok, recap.changed, recap.failed),
        (2, 1, 0),
        "{events:?}"
    );
    assert!(report.recap.iter().all(|r| r.host != "endpoint-1"));
    assert_eq!(
        std::fs::read_to_string(out.path().join("localhost")).unwrap(),
        "endpoint-1 0\n",
        "the file is written here; `all` and its groups leave localhost out"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn symbolic_modes_folder_copies_remote_src_and_expansions_work_as_ansibles() {
    use std::os::unix::fs::PermissionsExt;
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // A folder to copy: text, a binary file, a subfolder, a link back up.
    write(home.path(), "files/site/index.html", "<h1>hi</h1>\n");
    write(home.path(), "files/site/css/main.css", "body {}\n");
    std::fs::write(
        home.path().join("files/site/logo.png"),
        [0x89, b'P', 0xff, 0, 1],
    )
    .unwrap();
    std::os::unix::fs::symlink("..", home.path().join("files/site/css/up")).unwrap();
    write(
        home.path(),
        "vars/one.yml",
        "config: {a: 1, deep: {x: 1}}\n",
    );
    write(
        home.path(),
        "vars/two.yml",
        "config: {b: 2, deep: {y: 2}}\n",
    );
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: box
  gather_facts: false
  tasks:
    - copy: {{ dest: "{dir}/plain", content: "x\n", mode: "0600" }}
    - file: {{ path: "{dir}/plain", mode: "u+x,g=u-w,o=r" }}
    - file: {{ path: "{dir}/folder", state: directory, mode: "a=rX,u+w" }}
    - copy: {{ dest: "{dir}/made", content: "y\n", mode: "go-r" }}
    - copy: {{ src: site/, dest: "{dir}/www/" }}
    - copy: {{ src: site, dest: "{dir}/www2" }}
      register: again_once
    - copy: {{ src: site, dest: "{dir}/www2" }}
      register: again
    - copy: {{ src: "$ONE_DIR/plain", remote_src: true, dest: "{dir}/plain.copy" }}
      environment: {{ ONE_DIR: "{dir}" }}
    - command: printf %s-%s ${{GREETING}} $NOT_SET
      environment: {{ GREETING: hello }}
      register: expanded
    - command: printf %s $GREETING
      args: {{ expand_argument_vars: false }}
      environment: {{ GREETING: hello }}
      register: kept
    - shell: echo hi
      args: {{ expand_argument_vars: false }}
      register: shell_refused
      ignore_errors: true
    - fetch: {{ src: "{dir}/made", dest: "{dir}/fetched" }}
      register: fetched
    - fetch: {{ src: "{dir}/made", dest: "{dir}/fetched" }}
      register: fetched_again
    - fetch: {{ src: "{dir}/made", dest: "{dir}/flat/", flat: true }}
    - fetch: {{ src: "{dir}/nothing-here", dest: "{dir}/fetched", fail_on_missing: false }}
      register: not_there
    - include_vars: one.yml
    - include_vars: {{ file: two.yml, hash_behaviour: merge }}
    - set_fact:
        "{{{{ 1 }}}}": value
      register: bad_name
      ignore_errors: true
    - assert:
        that:
          - again_once is changed
          - again is not changed
          - expanded.stdout == 'hello-$NOT_SET'
          - kept.stdout == '$GREETING'
          - "shell_refused.msg == 'Unsupported parameters for (shell) module: expand_argument_vars'"
          - "config == {{'a': 1, 'b': 2, 'deep': {{'x': 1, 'y': 2}}}}"
          - bad_name.msg is contains "Invalid variable name '1' of type 'int'"
          - fetched is changed and fetched_again is not changed
          - fetched.dest == '{dir}/fetched/box{dir}/made'
          - fetched.checksum == ('y\n' | hash('sha1'))
          - not_there is not failed and not_there.msg is contains 'does not exist'
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "box");
    assert_eq!((recap.failed, recap.ignored), (0, 2), "{events:?}");
    let mode = |name: &str| {
        std::fs::metadata(out.path().join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777
    };
    assert_eq!(mode("plain"), 0o754, "u+x,g=u-w,o=r on 0600");
    assert_eq!(mode("folder"), 0o755, "a=rX,u+w on a new folder");
    assert_eq!(mode("made"), 0o600, "go-r on a new file's 0644");
    let read = |name: &str| std::fs::read(out.path().join(name)).unwrap();
    assert_eq!(read("www/index.html"), b"<h1>hi</h1>\n");
    assert_eq!(read("www/css/main.css"), b"body {}\n");
    assert_eq!(
        read("www/logo.png"),
        [0x89, b'P', 0xff, 0, 1],
        "binary, byte for byte"
    );
    assert_eq!(read("www2/site/logo.png"), [0x89, b'P', 0xff, 0, 1]);
    assert_eq!(
        std::fs::read_link(out.path().join("www/css/up")).unwrap(),
        Path::new(".."),
        "a link back up is copied as the link it is, not followed"
    );
    assert_eq!(read("plain.copy"), b"x\n", "remote_src with $VAR in src");
    assert_eq!(read("flat/made"), b"y\n", "fetched flat into a folder");
}

#[tokio::test(flavor = "multi_thread")]
async fn unarchive_unpacks_tar_and_zip_once_and_names_what_it_cannot_read() {
    use std::os::unix::fs::PermissionsExt;
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // The archives, made by the tools a user would make them with.
    let stuff = home.path().join("stuff");
    write(&stuff, "app/run.sh", "#!/bin/sh\necho run\n");
    write(&stuff, "app/conf/app.ini", "port = 80\n");
    std::fs::create_dir_all(home.path().join("files")).unwrap();
    let made = std::process::Command::new("tar")
        .args(["czf", "../files/app.tar.gz", "app"])
        .current_dir(&stuff)
        .status()
        .unwrap();
    assert!(made.success());
    let made = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-c", "../files/app.zip", "app"])
        .current_dir(&stuff)
        .status()
        .unwrap();
    assert!(made.success());
    write(home.path(), "files/not-an-archive.tar", "just text\n");
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: box
  gather_facts: false
  tasks:
    - file: {{ path: "{dir}/{{{{ item }}}}", state: directory }}
      loop: [tar, zip]
    - unarchive: {{ src: app.tar.gz, dest: "{dir}/tar", list_files: true, mode: "u=rwX,go=rX" }}
      register: first_tar
    - unarchive: {{ src: app.tar.gz, dest: "{dir}/tar", mode: "u=rwX,go=rX" }}
      register: second_tar
    - copy: {{ dest: "{dir}/tar/app/conf/app.ini", content: "port = 81\n" }}
    - unarchive: {{ src: app.tar.gz, dest: "{dir}/tar" }}
      register: repaired
    - unarchive: {{ src: app.zip, dest: "{dir}/zip" }}
      register: first_zip
    - unarchive: {{ src: "{dir}/../{{{{ 'x' }}}}", remote_src: true, dest: "{dir}/zip" }}
      register: missing
      ignore_errors: true
    - unarchive: {{ src: app.zip, dest: "{dir}/zip" }}
      register: second_zip
    - unarchive: {{ src: app.zip, dest: "{dir}/zip", creates: "{dir}/zip/app" }}
      register: created
    - unarchive: {{ src: not-an-archive.tar, dest: "{dir}/zip" }}
      register: unreadable
      ignore_errors: true
    - unarchive: {{ src: app.zip, dest: "{dir}/nowhere" }}
      register: no_dest
      ignore_errors: true
    - assert:
        that:
          - first_tar is changed
          - "'app/conf/app.ini' in first_tar.files"
          - first_tar.handler == 'TgzArchive'
          - second_tar is not changed
          - repaired is changed
          - first_zip is changed and first_zip.handler == 'ZipArchive'
          - second_zip is not changed
          - created is not changed
          - missing.msg is contains "does not exist"
          - unreadable.msg is contains 'Failed to find handler for "not-an-archive.tar"'
          - no_dest.msg is contains "is not a directory"
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "box");
    assert_eq!((recap.failed, recap.ignored), (0, 3), "{events:?}");
    let read = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
    assert_eq!(read("tar/app/conf/app.ini"), "port = 80\n", "put back");
    assert_eq!(read("zip/app/run.sh"), "#!/bin/sh\necho run\n");
    let mode = std::fs::metadata(out.path().join("tar/app/conf"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "u=rwX,go=rX on a folder");
    let leftovers: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("capstan-un"))
        .collect();
    assert!(leftovers.is_empty(), "scratch copies left: {leftovers:?}");
}

#[tokio::test]
async fn a_jsonfile_fact_cache_keeps_cacheable_facts_between_runs_until_flushed() {
    let (home, capstan) = engine();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let inv = local_inventory(dir, &[("box", "")]);
    write(
        dir,
        "ansible.cfg",
        "[defaults]\nfact_caching = jsonfile\nfact_caching_connection = facts\nfact_caching_prefix = cap_\n",
    );
    let first = write(
        dir,
        "first.yml",
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - set_fact: { kept: 1, token_copy: \"{{ token }}\", cacheable: true }\n    - set_fact: { not_kept: 2 }\n",
    );
    let second = write(
        dir,
        "second.yml",
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - assert:\n        that:\n          - kept == 1 and ansible_facts.kept == 1\n          - not_kept is undefined\n",
    );
    let flushed = write(
        dir,
        "flushed.yml",
        "- hosts: box\n  gather_facts: no\n  tasks:\n    - assert: { that: kept is undefined }\n",
    );
    let with_cfg = |options: &mut PlaybookOptions| options.ansible_cfg = true;
    let (report, events) = play(&capstan, &first, &inv, |options| {
        options.ansible_cfg = true;
        options
            .extra_vars
            .insert("token".into(), "s3cret-token-9".into());
        options.secret_vars = vec!["token".into()];
    })
    .await;
    assert!(!report.failed(), "{}", first_failure(&events));
    let file = dir.join("facts/cap_box");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("s3cret-token-9"),
        "a secret reached the cache: {text}"
    );
    let kept: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(kept["kept"], 1);
    assert!(kept.get("not_kept").is_none() && kept.get("token_copy").is_none());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (report, events) = play(&capstan, &second, &inv, with_cfg).await;
    assert!(!report.failed(), "{}", first_failure(&events));
    let (report, events) = play(&capstan, &flushed, &inv, |options| {
        options.ansible_cfg = true;
        options.flush_cache = true;
    })
    .await;
    assert!(!report.failed(), "{}", first_failure(&events));
    drop(home);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_finds_the_templates_it_names_and_takes_its_options() {
    let (home, capstan) = engine();
    // Plugins never reach Capstan's data folder: the files live beside it.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("project");
    let inv = local_inventory(home.path(), &[("h1", "")]);
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The role's template imports a macro from the role's templates and
    // includes a part from the playbook's; the part uses a variable no
    // other template names, itself a template.
    write(
        &dir,
        "roles/web/templates/site.conf.j2",
        "{% import 'macros.j2' as m with context %}{{ m.line('port', port) }}\n{% include 'parts/greeting.j2' %}\n",
    );
    write(
        &dir,
        "roles/web/templates/macros.j2",
        "{% macro line(key, value) %}{{ key }} = {{ value }}{% endmacro %}",
    );
    write(&dir, "templates/parts/greeting.j2", "{{ greeting }}");
    write(
        &dir,
        "roles/web/templates/odd.j2",
        "#jinja2:variable_start_string:'[[', variable_end_string:']]'\nport [[ port ]] {{ kept }}\n",
    );
    write(
        &dir,
        "roles/web/templates/lines.j2",
        "a\n{% if true %}\n  {% if true %}\nb\n  {% endif %}\n{% endif %}\n",
    );
    write(
        &dir,
        "roles/web/templates/climb.j2",
        "{% include '../../../secret.txt' %}",
    );
    write(work.path(), "secret.txt", "not for templates");
    write(
        &dir,
        "roles/web/tasks/main.yml",
        r#"- template: src=site.conf.j2 dest={{ out }}/site.conf
- template: src=odd.j2 dest={{ out }}/odd.conf
- template:
    src: lines.j2
    dest: "{{ out }}/lines.txt"
    lstrip_blocks: true
    newline_sequence: '\r\n'
- template: src=site.conf.j2 dest={{ out }}/site.cp1252 output_encoding=windows-1252
  vars:
    who: "café"
- template: src=climb.j2 dest={{ out }}/climb.txt
"#,
    );
    let site = write(
        &dir,
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  vars:
    port: 8080
    who: world
    greeting: "hello {{ who }}"
  roles: [web]
"#,
    );
    let (_, events) = play(&capstan, &site, &inv, |o| {
        o.extra_vars
            .insert("out".into(), serde_json::json!(out.display().to_string()));
    })
    .await;
    let read = |name: &str| {
        std::fs::read(out.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}; {}", first_failure(&events)))
    };
    assert_eq!(read("site.conf"), b"port = 8080\nhello world\n");
    assert_eq!(read("odd.conf"), b"port 8080 {{ kept }}\n");
    assert_eq!(read("lines.txt"), b"a\r\nb\r\n");
    assert_eq!(read("site.cp1252"), b"port = 8080\nhello caf\xe9\n");
    let refused = first_failure(&events);
    assert!(refused.contains("`..` is refused"), "{refused}");
    assert!(!out.join("climb.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_included_by_a_role_sees_the_including_roles_variables() {
    let (home, capstan) = engine();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("project");
    let inv = local_inventory(home.path(), &[("h1", "")]);
    let out = work.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // outer includes inner, which includes innermost: each sees the
    // defaults and vars of the roles above it, its own over theirs, in
    // its tasks and in its handlers alike.
    write(
        &dir,
        "roles/outer/defaults/main.yml",
        "v: foo\nshared: outer\n",
    );
    write(&dir, "roles/outer/vars/main.yml", "outer_var: ov\n");
    write(
        &dir,
        "roles/outer/tasks/main.yml",
        "- include_role: {name: inner}\n",
    );
    write(&dir, "roles/inner/defaults/main.yml", "shared: inner\n");
    write(
        &dir,
        "roles/inner/tasks/main.yml",
        "- copy: {content: '{{ v }} {{ shared }} {{ outer_var }}', dest: '{{ out }}/task.txt'}\n  \
         notify: h\n- include_role: {name: innermost}\n",
    );
    write(
        &dir,
        "roles/inner/handlers/main.yml",
        "- name: h\n  copy: {content: '{{ v }} {{ shared }}', dest: '{{ out }}/handler.txt'}\n",
    );
    write(
        &dir,
        "roles/innermost/tasks/main.yml",
        "- copy: {content: '{{ v }} {{ shared }}', dest: '{{ out }}/innermost.txt'}\n",
    );
    let site = write(
        &dir,
        "site.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - include_role: {name: outer}\n",
    );
    let (report, events) = play(&capstan, &site, &inv, |o| {
        o.extra_vars
            .insert("out".into(), serde_json::json!(out.display().to_string()));
    })
    .await;
    assert!(!report.failed(), "{}", first_failure(&events));
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("task.txt"), "foo inner ov");
    assert_eq!(read("handler.txt"), "foo inner");
    assert_eq!(read("innermost.txt"), "foo inner");
    drop(home);
}

#[tokio::test(flavor = "multi_thread")]
async fn remote_folders_are_merged_and_relative_paths_start_where_commands_do() {
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // The local connection starts commands in Capstan's own folder, as
    // ansible-playbook's local modules start in its: a relative path
    // climbs from there to the test's folder.
    let start = std::env::current_dir().unwrap();
    let relative = format!(
        "{}{}",
        "../".repeat(start.components().count() - 1),
        dir.trim_start_matches('/')
    );
    write(out.path(), "src/file1", "one\n");
    write(out.path(), "src/sub/file12", "twelve\n");
    std::os::unix::fs::symlink("sub/file12", out.path().join("src/link12")).unwrap();
    std::fs::create_dir_all(out.path().join("existing")).unwrap();
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: box
  gather_facts: false
  tasks:
    - copy: {{ src: "{dir}/src/", remote_src: true, dest: "{dir}/contents", mode: "0750" }}
      register: contents
    - copy: {{ src: "{dir}/src/", remote_src: true, dest: "{dir}/contents", mode: "0750" }}
      register: contents_again
    - copy: {{ src: "{dir}/src", remote_src: true, dest: "{dir}/existing", local_follow: true }}
      register: named
    - copy: {{ src: "{dir}/src/", remote_src: true, dest: "{dir}/checked" }}
      check_mode: true
      register: checked
    - copy: {{ dest: "{dir}/src/sub/file12", content: "changed\n" }}
    - copy: {{ dest: "{dir}/contents/extra", content: "mine\n" }}
    - copy: {{ src: "{dir}/src/", remote_src: true, dest: "{dir}/contents/" }}
      register: merged
    - copy: {{ src: /dev/null, remote_src: true, dest: "{dir}/null" }}
      register: device
      ignore_errors: true
    - file: {{ path: "{relative}/touched", state: touch }}
    - copy: {{ dest: "./{relative}/written", content: "rel\n" }}
    - copy: {{ src: "{relative}/written", remote_src: true, dest: "{relative}/into/" }}
    - stat: {{ path: "{relative}/touched" }}
      register: touched
    - lineinfile: {{ path: "{relative}/edited", line: "a=1", create: true }}
    - blockinfile: {{ path: "./{relative}/edited", block: "b=2" }}
    - replace: {{ path: "{relative}/edited", regexp: "a=1", replace: "a=3" }}
    - template: {{ src: "{dir}/src/file1", dest: "{relative}/templated" }}
    - fetch: {{ src: "{relative}/templated", dest: "{dir}/fetched/", flat: true }}
    - assert:
        that:
          - contents is changed and contents_again is not changed
          - named is changed and checked is changed
          - merged is changed
          - "device.msg == \"Cannot copy invalid source '/dev/null': not a file\""
          - touched.stat.exists and touched.stat.isreg
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "box");
    assert_eq!(
        (recap.failed, recap.ignored),
        (0, 1),
        "{}",
        first_failure(&events)
    );
    let path = |name: &str| out.path().join(name);
    let read = |name: &str| std::fs::read_to_string(path(name)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path("contents"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o750, "the copied folder takes the mode");
    assert_eq!(read("contents/file1"), "one\n");
    assert_eq!(
        read("contents/sub/file12"),
        "changed\n",
        "a changed file is copied again"
    );
    assert_eq!(
        read("contents/extra"),
        "mine\n",
        "what dest holds alone is kept"
    );
    let link = std::fs::symlink_metadata(path("contents/link12")).unwrap();
    assert!(link.file_type().is_symlink(), "links stay links by default");
    let followed = std::fs::symlink_metadata(path("existing/src/link12")).unwrap();
    assert!(
        followed.is_file(),
        "local_follow copies what a link points to"
    );
    assert_eq!(
        read("existing/src/sub/file12"),
        "twelve\n",
        "src without / goes in by name"
    );
    assert!(!path("checked").exists(), "check mode copies nothing");
    assert!(path("touched").is_file());
    assert_eq!(read("written"), "rel\n");
    assert_eq!(
        read("into/written"),
        "rel\n",
        "a remote file into a folder keeps its name"
    );
    assert!(!start.join("touched").exists());
    assert_eq!(
        read("edited"),
        "a=3\n# BEGIN ANSIBLE MANAGED BLOCK\nb=2\n# END ANSIBLE MANAGED BLOCK\n",
        "lineinfile, blockinfile and replace read a relative path"
    );
    assert_eq!(read("templated"), "one\n");
    assert_eq!(read("fetched/templated"), "one\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn conditionals_are_read_as_ansible_2_19_reads_them() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // A quoted template inside an expression is rendered first; a template
    // naming a variable (or a loop item) the user wrote evaluates its text;
    // text from a host is never evaluated, and says so.
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  vars:
    family: Debian
    os: Debian
    is_debian: "os == 'Debian'"
    is_red_hat: "os == 'RedHat'"
    conds: ["os == 'Debian'", "1 == 2"]
  tasks:
    - debug: { msg: "{{ item }}" }
      when: "{{ item }}"
      loop: "{{ conds }}"
      register: named_list
    - debug: { msg: old idiom }
      when: "os == '{{ family }}'"
      register: idiom
    - debug: { msg: indirect }
      when: "{{ is_red_hat }}"
      register: indirect
    - assert: { that: "{{ item }}" }
      loop: ["1 == 1", "1 == 42"]
      register: items
      ignore_errors: true
    - command: echo 1 == 1
      register: out
    - debug: { msg: from the host }
      when: "{{ out.stdout }}"
      register: hosted
      ignore_errors: true
    - assert: { that: "" }
      register: empty
      ignore_errors: true
    - assert:
        that:
          - idiom is not skipped
          - named_list.results[0] is not skipped and named_list.results[1] is skipped
          - indirect is skipped
          - items.results[0] is success and items.results[1] is failed
          - hosted is failed
          - "'untrusted template or expression' in hosted.msg"
          - "'1 == 1' in hosted.msg"
          - "'Empty conditional expressions are not allowed' in empty.msg"
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    let recap = recap_of(&report, "box");
    assert_eq!(
        (recap.failed, recap.ignored),
        (0, 3),
        "{}",
        first_failure(&events)
    );
    drop(home);
}

#[tokio::test(flavor = "multi_thread")]
async fn handlers_notified_by_handlers_run_once_per_flush_as_ansibles() {
    let (home, capstan) = engine();
    let inv = local_inventory(home.path(), &[("box", "")]);
    // h2 notifies h1, written before it: h1 runs in the next flush. Two
    // handlers listening to one topic both run. A handler notifying
    // itself runs once per flush and the play ends. `clear_host_errors`
    // whose `when` is false clears nothing.
    let site = write(
        home.path(),
        "site.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - command: "true"
      notify: [h2, topic, again]
    - command: "true"
      changed_when: false
  handlers:
    - name: h1
      debug: {msg: h1 ran}
    - name: h2
      debug: {msg: h2 ran}
      changed_when: true
      notify: h1
    - debug: {msg: first listener ran}
      listen: topic
    - debug: {msg: second listener ran}
      listen: topic
    - name: again
      debug: {msg: again ran}
      changed_when: true
      notify: again
- hosts: all
  gather_facts: false
  tasks:
    - fail: {msg: on purpose}
      ignore_errors: false
      failed_when: true
    - meta: clear_host_errors
      when: false
- hosts: all
  gather_facts: false
  tasks:
    - debug: {msg: still here}
"#,
    );
    let (report, events) = play(&capstan, &site, &inv, |_| {}).await;
    for (said, times) in [
        ("h1 ran", 1),
        ("h2 ran", 1),
        ("first listener ran", 1),
        ("second listener ran", 1),
        // The flushes after tasks and after post_tasks.
        ("again ran", 2),
        ("still here", 0),
    ] {
        assert_eq!(results_saying(&events, said), times, "{said}");
    }
    assert_eq!(recap_of(&report, "box").failed, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_controller_folder_copy_keeps_links_modes_and_opens_vaulted_files() {
    use capstan_engine::vault::encrypt;
    use std::os::unix::fs::PermissionsExt;
    let (home, capstan) = engine();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().display().to_string();
    let inv = local_inventory(home.path(), &[("box", "")]);
    write(home.path(), "files/tree/top.txt", "top\n");
    write(home.path(), "files/tree/sub/run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        home.path().join("files/tree/sub/run.sh"),
        std::fs::Permissions::from_mode(0o750),
    )
    .unwrap();
    std::fs::create_dir_all(home.path().join("files/tree/empty")).unwrap();
    std::os::unix::fs::symlink("../top.txt", home.path().join("files/tree/sub/top-link")).unwrap();
    std::os::unix::fs::symlink("nowhere", home.path().join("files/tree/dangling")).unwrap();
    write(
        home.path(),
        "files/secret.txt",
        &encrypt("pw-1", "opened secret\n"),
    );
    let password = write(home.path(), "vault-pass", "pw-1\n");
    let site = write(
        home.path(),
        "site.yml",
        &format!(
            r#"- hosts: all
  gather_facts: false
  tasks:
    - copy: {{ src: tree, dest: "{dir}/links", local_follow: false, directory_mode: "0700" }}
      register: first
    - copy: {{ src: tree, dest: "{dir}/links", local_follow: false, directory_mode: "0700" }}
      register: second
    - copy: {{ src: tree/, dest: "{dir}/kept", mode: preserve }}
    - copy: {{ src: secret.txt, dest: "{dir}/secret.txt" }}
    - copy: {{ src: secret.txt, dest: "{dir}/still-vaulted.txt", decrypt: false }}
    - assert:
        that: [first is changed, second is not changed]
"#
        ),
    );
    let (report, events) = play(&capstan, &site, &inv, |o| {
        o.vault_password_files = vec![password.clone()];
    })
    .await;
    assert!(!report.failed(), "{}", first_failure(&events));
    let path = |name: &str| out.path().join(name);
    let mode = |name: &str| std::fs::metadata(path(name)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(
        std::fs::read_link(path("links/tree/sub/top-link")).unwrap(),
        Path::new("../top.txt"),
        "local_follow: false copies a link as the link it is"
    );
    assert_eq!(
        std::fs::read_link(path("links/tree/dangling")).unwrap(),
        Path::new("nowhere")
    );
    for folder in ["links/tree", "links/tree/sub", "links/tree/empty"] {
        assert_eq!(mode(folder), 0o700, "directory_mode on {folder}");
    }
    assert_eq!(
        mode("kept/sub/run.sh"),
        0o750,
        "mode: preserve keeps each file's"
    );
    assert!(
        std::fs::symlink_metadata(path("kept/sub/top-link"))
            .unwrap()
            .is_file()
    );
    assert_eq!(
        std::fs::read_to_string(path("secret.txt")).unwrap(),
        "opened secret\n"
    );
    let vaulted = std::fs::read_to_string(path("still-vaulted.txt")).unwrap();
    assert!(
        vaulted.starts_with("$ANSIBLE_VAULT;"),
        "decrypt: false copies it sealed"
    );
    let shown = format!("{events:?}");
    assert!(
        !shown.contains("opened secret"),
        "an opened file's text is masked"
    );
}
