//! First-party module plugins on a real target, locally and over SSH:
//! idempotency, check mode and errors.

use capstan_engine::Capstan;
use capstan_engine::jobs::{ResultStatus, RunRequest, TargetResult};
use serde_json::{Value, json};

use crate::fleet::Sshd;
use crate::support::{engine, execute};

/// Runs `plugin apply` on one target with --diff (trusting a new host key).
async fn apply(
    capstan: &Capstan,
    plugin: &str,
    target: &str,
    params: Value,
    check: bool,
) -> TargetResult {
    let request = RunRequest {
        check,
        diff: true,
        trust_new_hosts: true,
        ..RunRequest::new(plugin, "apply", params, [target])
    };
    let report = execute(capstan, request).await;
    report.results.into_iter().next().unwrap()
}

async fn file(capstan: &Capstan, target: &str, params: Value, check: bool) -> TargetResult {
    apply(capstan, "file", target, params, check).await
}

async fn copy(capstan: &Capstan, target: &str, params: Value, check: bool) -> TargetResult {
    apply(capstan, "copy", target, params, check).await
}

#[tokio::test]
async fn file_is_idempotent_locally_and_over_ssh() {
    let sshd = Sshd::start();
    let (_home, capstan) = engine();
    // Plugins never reach Capstan's data folder: work beside it.
    let dir = tempfile::tempdir().unwrap();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    for target in ["local", "web-1"] {
        let base = dir.path().join(target);
        let app = base.join("app");
        let app = app.to_str().unwrap();
        let status = |r: &TargetResult| (r.status, r.summary.clone());

        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "directory", "mode": "0750" }),
            true,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Changed, "{target} check: {r:?}");
        assert!(
            !std::path::Path::new(app).exists(),
            "{target}: check mode changed nothing"
        );
        assert!(
            r.diff.as_deref().unwrap().contains("+state: directory"),
            "{r:?}"
        );

        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "directory", "mode": "0750" }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Changed,
            "{target}: {:?}",
            status(&r)
        );
        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "directory", "mode": "0750" }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Ok,
            "{target} second run: {:?}",
            status(&r)
        );
        // As Ansible's: a path left as it was has its path alone in `diff`.
        let diff = &r.data.as_ref().unwrap()["diff"];
        assert_eq!(diff["after"], json!({ "path": app }), "{target}: {diff}");
        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "directory", "mode": 755 }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Changed,
            "{target} mode change: {:?}",
            status(&r)
        );
        let diff = &r.data.as_ref().unwrap()["diff"];
        assert_eq!(
            diff["before"],
            json!({ "path": app, "mode": "0750" }),
            "{target}"
        );
        assert_eq!(
            diff["after"],
            json!({ "path": app, "mode": "0755" }),
            "{target}"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(app).unwrap().permissions().mode() & 0o7777,
            0o755
        );

        let link = base.join("current");
        let link = link.to_str().unwrap();
        let r = file(
            &capstan,
            target,
            json!({ "path": link, "state": "link", "src": app }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Changed,
            "{target}: {:?}",
            status(&r)
        );
        let r = file(
            &capstan,
            target,
            json!({ "path": link, "state": "link", "src": app }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Ok,
            "{target} link again: {:?}",
            status(&r)
        );
        assert_eq!(std::fs::read_link(link).unwrap().to_str().unwrap(), app);

        // A hard link, made once.
        let original = base.join("original");
        std::fs::write(&original, "x").unwrap();
        let hard = base.join("hard");
        let hard_params = json!({
            "path": hard.to_str().unwrap(),
            "state": "hard",
            "src": original.to_str().unwrap(),
        });
        let r = file(&capstan, target, hard_params.clone(), false).await;
        assert_eq!(
            r.status,
            ResultStatus::Changed,
            "{target}: {:?}",
            status(&r)
        );
        let r = file(&capstan, target, hard_params, false).await;
        assert_eq!(r.status, ResultStatus::Ok, "{target}: {:?}", status(&r));
        assert_eq!(r.data.as_ref().unwrap()["state"], "hard");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            std::fs::metadata(&hard).unwrap().ino(),
            std::fs::metadata(&original).unwrap().ino()
        );

        let missing = base.join("missing.conf");
        let r = file(
            &capstan,
            target,
            json!({ "path": missing.to_str().unwrap() }),
            false,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Failed);
        assert!(
            r.summary.contains("is absent, cannot continue"),
            "{}",
            r.summary
        );

        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "absent" }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Changed,
            "{target}: {:?}",
            status(&r)
        );
        let r = file(
            &capstan,
            target,
            json!({ "path": app, "state": "absent" }),
            false,
        )
        .await;
        assert_eq!(
            r.status,
            ResultStatus::Ok,
            "{target} absent again: {:?}",
            status(&r)
        );

        let r = file(
            &capstan,
            target,
            json!({ "path": link, "owner": "no-such-user-xyz" }),
            false,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Failed);
        assert!(
            r.summary.contains("user `no-such-user-xyz` does not exist"),
            "{}",
            r.summary
        );
    }
}

#[tokio::test]
async fn copy_writes_content_once_with_diff_and_backup() {
    let sshd = Sshd::start();
    let (_home, capstan) = engine();
    // Plugins never reach Capstan's data folder: work beside it.
    let dir = tempfile::tempdir().unwrap();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    for target in ["local", "web-1"] {
        let dest = dir.path().join(format!("{target}.conf"));
        let dest_s = dest.to_str().unwrap();
        let first = json!({ "dest": dest_s, "content": "a = 1\nb = 2\n", "mode": "0640" });

        let r = copy(&capstan, target, first.clone(), true).await;
        assert_eq!(r.status, ResultStatus::Changed, "{target}: {r:?}");
        assert!(!dest.exists(), "check mode writes nothing");
        assert!(r.diff.as_deref().unwrap().contains("+a = 1"), "{r:?}");

        assert_eq!(
            copy(&capstan, target, first.clone(), false).await.status,
            ResultStatus::Changed
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "a = 1\nb = 2\n");
        let again = copy(&capstan, target, first, false).await;
        assert_eq!(
            again.status,
            ResultStatus::Ok,
            "{target} second run: {again:?}"
        );

        let second = json!({ "dest": dest_s, "content": "a = 1\nb = 3\n", "backup": true });
        let r = copy(&capstan, target, second, false).await;
        assert_eq!(r.status, ResultStatus::Changed);
        assert!(
            r.diff.as_deref().unwrap().contains("-b = 2\n+b = 3"),
            "{:?}",
            r.diff
        );
        let backup = r.data.as_ref().unwrap()["backup_file"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            std::fs::read_to_string(&backup).unwrap(),
            "a = 1\nb = 2\n",
            "{target}: the old file is kept"
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&dest).unwrap().permissions().mode() & 0o7777,
            0o640,
            "mode kept"
        );

        let r = copy(
            &capstan,
            target,
            json!({ "dest": dir.path().to_str().unwrap(), "content": "x" }),
            false,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Failed);
        assert!(
            r.summary.contains("can not use content with a dir as dest"),
            "{}",
            r.summary
        );
    }
}

#[tokio::test]
async fn lineinfile_edits_once_locally_and_over_ssh() {
    let sshd = Sshd::start();
    let (_home, capstan) = engine();
    // Plugins never reach Capstan's data folder: work beside it.
    let dir = tempfile::tempdir().unwrap();
    capstan.add_host(&sshd.host("web-1")).unwrap();
    for target in ["local", "web-1"] {
        let path = dir.path().join(format!("{target}-sshd_config"));
        std::fs::write(&path, "Port 22\nPermitRootLogin yes\n").unwrap();
        let path_s = path.to_str().unwrap();
        let set =
            json!({ "path": path_s, "regexp": "^PermitRootLogin", "line": "PermitRootLogin no" });

        let r = apply(&capstan, "lineinfile", target, set.clone(), true).await;
        assert_eq!(r.status, ResultStatus::Changed, "{target}: {r:?}");
        assert!(
            r.diff
                .as_deref()
                .unwrap()
                .contains("-PermitRootLogin yes\n+PermitRootLogin no"),
            "{r:?}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "Port 22\nPermitRootLogin yes\n",
            "check mode"
        );

        assert_eq!(
            apply(&capstan, "lineinfile", target, set.clone(), false)
                .await
                .status,
            ResultStatus::Changed
        );
        assert_eq!(
            apply(&capstan, "lineinfile", target, set, false)
                .await
                .status,
            ResultStatus::Ok
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "Port 22\nPermitRootLogin no\n"
        );

        let missing = dir.path().join(format!("{target}-new.conf"));
        let r = apply(
            &capstan,
            "lineinfile",
            target,
            json!({ "path": missing.to_str().unwrap(), "line": "a" }),
            false,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Failed);
        assert!(
            r.summary.contains("does not exist (set create: true"),
            "{}",
            r.summary
        );
        let r = apply(
            &capstan,
            "lineinfile",
            target,
            json!({ "path": missing.to_str().unwrap(), "line": "a", "create": true, "mode": "0600" }),
            false,
        )
        .await;
        assert_eq!(r.status, ResultStatus::Changed, "{r:?}");
        assert_eq!(std::fs::read_to_string(&missing).unwrap(), "a\n");
    }
}
