//! What the window's history and inventory views ask of the engine: jobs
//! filtered by state, result and text; a job run again as it ran; an
//! inventory imported whole or not at all.

use std::sync::Arc;

use capstan_engine::jobs::{JobEvent, JobState, ResultStatus, RunRequest};
use capstan_engine::{JobFilter, Rerun};
use serde_json::json;

use crate::support::{engine, host_names};

async fn start(capstan: &capstan_engine::Capstan, request: RunRequest) -> i64 {
    capstan
        .run(request, Arc::new(|_: &JobEvent| {}))
        .await
        .unwrap()
        .job_id
}

#[tokio::test]
async fn jobs_are_found_by_result_state_and_text() {
    let (_dir, capstan) = engine();
    let ok = start(
        &capstan,
        RunRequest::new("debug", "msg", json!({ "msg": "hi" }), ["local"]),
    )
    .await;
    let failed = start(
        &capstan,
        RunRequest::new("command", "exec", json!({ "argv": ["false"] }), ["local"]),
    )
    .await;
    let find = |filter: JobFilter| -> Vec<i64> {
        capstan
            .find_jobs(&filter)
            .unwrap()
            .into_iter()
            .map(|j| j.id)
            .collect()
    };
    assert_eq!(find(JobFilter::default()), vec![failed, ok], "newest first");
    assert_eq!(
        find(JobFilter {
            result: Some(ResultStatus::Failed),
            ..Default::default()
        }),
        vec![failed]
    );
    assert_eq!(
        find(JobFilter {
            text: Some("DEBUG".into()),
            ..Default::default()
        }),
        vec![ok],
        "text matches the plugin, case-insensitively"
    );
    assert_eq!(
        find(JobFilter {
            state: Some(JobState::Running),
            ..Default::default()
        }),
        Vec::<i64>::new()
    );
    assert_eq!(
        find(JobFilter {
            text: Some("local".into()),
            limit: 1,
            ..Default::default()
        }),
        vec![failed],
        "text matches targets; the limit keeps the newest"
    );
    let detail = capstan.job_detail(ok, true).unwrap();
    assert_eq!(detail.job.id, ok);
    assert_eq!(detail.logs.len(), 1);
    assert!(detail.tasks.is_empty());
    assert!(capstan.job_detail(ok, false).unwrap().logs.is_empty());
}

#[tokio::test]
async fn a_job_runs_again_with_its_whole_request() {
    let (_dir, capstan) = engine();
    let mut request = RunRequest::new("debug", "msg", json!({ "msg": "again" }), ["local"]);
    request.check = true;
    request.diff = true;
    request.trust_new_hosts = true;
    let first = start(&capstan, request).await;
    let Rerun::Action(again) = capstan.rerun_of(first).unwrap() else {
        panic!("a plugin action runs again as one");
    };
    assert_eq!(
        (
            again.plugin.as_str(),
            again.action.as_str(),
            again.check,
            again.diff
        ),
        ("debug", "msg", true, true)
    );
    assert_eq!(again.params, json!({ "msg": "again" }));
    assert_eq!(again.targets, ["local"]);
    assert!(
        !again.trust_new_hosts,
        "a re-run never trusts new host keys unless asked again"
    );
    let second = start(&capstan, again).await;
    assert_ne!(first, second);
    assert!(capstan.rerun_of(9_999).unwrap_err().is_bad_input());
}

#[tokio::test]
async fn a_playbook_given_extra_vars_is_not_run_again_without_them() {
    let (dir, capstan) = engine();
    let playbook = dir.path().join("site.yml");
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: { msg: \"{{ greeting }}\" }\n",
    )
    .unwrap();
    let inventory = dir.path().join("hosts.ini");
    std::fs::write(&inventory, "[here]\nme ansible_connection=local\n").unwrap();
    let mut options = capstan_engine::playbook::PlaybookOptions {
        playbook: playbook.clone(),
        inventory: Some(inventory.clone()),
        ..Default::default()
    };
    options
        .extra_vars
        .insert("greeting".into(), json!("secret-ish"));
    let with_vars = capstan
        .run_playbook(options.clone(), Arc::new(|_| {}))
        .await
        .unwrap()
        .job_id;
    let refused = capstan.rerun_of(with_vars).unwrap_err().to_string();
    assert!(
        refused.contains("greeting") && refused.contains("-e"),
        "{refused}"
    );
    assert!(
        !refused.contains("secret-ish"),
        "values are never kept: {refused}"
    );

    options.extra_vars.clear();
    std::fs::write(
        &playbook,
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: { msg: hello }\n",
    )
    .unwrap();
    let plain = capstan
        .run_playbook(options, Arc::new(|_| {}))
        .await
        .unwrap()
        .job_id;
    let detail = capstan.job_detail(plain, false).unwrap();
    assert_eq!(detail.overall, Some(ResultStatus::Ok));
    assert_eq!(detail.recap.len(), 1);
    assert_eq!(
        (detail.recap[0].host.as_str(), detail.recap[0].ok),
        ("me", 1)
    );
    let Rerun::Playbook(again) = capstan.rerun_of(plain).unwrap() else {
        panic!("a playbook runs again as one");
    };
    assert_eq!(again.playbook, playbook);
    assert_eq!(again.inventory, Some(inventory));
}

#[test]
fn an_inventory_with_a_bad_line_saves_no_host() {
    let (dir, capstan) = engine();
    let good = dir.path().join("good.ini");
    std::fs::write(
        &good,
        "[web]\nweb-1 ansible_host=10.0.0.1\nweb-2 ansible_host=10.0.0.2\n",
    )
    .unwrap();
    assert_eq!(capstan.import_inventory(&good).unwrap().len(), 2);
    let bad = dir.path().join("bad.ini");
    std::fs::write(
        &bad,
        "[db]\ndb-1 ansible_host=10.0.0.3\ndb-2 ansible_port=http\n",
    )
    .unwrap();
    let error = capstan.import_inventory(&bad).unwrap_err();
    assert!(error.is_bad_input());
    assert!(error.to_string().contains("bad.ini:3"), "{error}");
    let names = host_names(&capstan);
    assert_eq!(
        names,
        ["web-1", "web-2"],
        "nothing of the bad file was saved"
    );
}

#[tokio::test]
async fn a_secret_param_is_masked_in_the_history_and_not_replayed() {
    const PASSWORD: &str = "pw-param-44aa";
    let (dir, capstan) = engine();
    crate::support::install_probe(&capstan, &[]).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = seen.clone();
    let report = capstan
        .run(
            RunRequest::new(
                "probe",
                "login",
                json!({ "user": "deploy", "password": PASSWORD }),
                ["local"],
            ),
            std::sync::Arc::new(move |e: &capstan_engine::jobs::JobEvent| {
                sink.lock().unwrap().push_str(&format!("{e:?}\n"))
            }),
        )
        .await
        .unwrap();
    let result = &report.results[0];
    assert_eq!(result.summary, "password was ********");
    assert_eq!(result.data, Some(json!({ "echo": "********" })));
    let events = seen.lock().unwrap().clone();
    assert!(!events.contains(PASSWORD), "{events}");
    assert!(
        events.contains("logging in as deploy with ********"),
        "{events}"
    );
    let job = capstan.job(report.job_id).unwrap();
    let params = job.params.to_value();
    assert_eq!(params["password"], "********");
    assert_eq!(params["user"], "deploy");
    let refused = capstan.rerun_of(report.job_id).unwrap_err().to_string();
    assert!(refused.contains("secret params (password)"), "{refused}");
    drop(capstan);
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes()),
                "{} holds the password",
                entry.path().display()
            );
        }
    }
}
