//! The local transport, exercised directly.

use capstan_engine::remote::{ExecRequest, LocalTransport, RemoteError, Transport};

use crate::support::files_round_trip;

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[tokio::test]
async fn exec_passes_stdin_env_and_cwd_without_a_shell() {
    let t = LocalTransport;
    let out = t
        .exec(
            &ExecRequest {
                argv: argv(&["sh", "-c", "read line; echo \"$line|$GREETING|$(pwd)\""]),
                stdin: Some(b"from stdin\n".to_vec()),
                env: vec![("GREETING".into(), "hi; rm -rf /".into())],
                cwd: Some("/tmp".into()),
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "from stdin|hi; rm -rf /|/tmp\n"
    );

    let out = t
        .exec(
            &ExecRequest {
                argv: argv(&["echo", "$HOME", "a b"]),
                ..Default::default()
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "$HOME a b\n",
        "no shell expands arguments"
    );
}

#[tokio::test]
async fn a_process_left_in_the_background_does_not_hold_the_command() {
    // The shell exits at once; the sleep it leaves behind keeps its output
    // open. As in Ansible, the command ends once its output pauses.
    let started = std::time::Instant::now();
    let out = LocalTransport
        .exec(
            &ExecRequest {
                argv: argv(&["sh", "-c", "echo before; sleep 30 & echo after"]),
                ..Default::default()
            },
            1 << 20,
        )
        .await
        .unwrap();
    assert_eq!(out.exit_code, Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "before\nafter\n");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "waited {:?} for the background sleep",
        started.elapsed()
    );
}

#[tokio::test]
async fn exec_output_is_capped() {
    let request = ExecRequest {
        argv: argv(&["head", "-c", "300000", "/dev/zero"]),
        ..Default::default()
    };
    match LocalTransport.exec(&request, 100_000).await {
        Err(RemoteError::TooLarge(m)) => assert!(m.contains("stdout of `head`"), "{m}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
}

#[tokio::test]
async fn a_missing_program_is_named() {
    let request = ExecRequest {
        argv: argv(&["no-such-program-xyz"]),
        ..Default::default()
    };
    match LocalTransport.exec(&request, 1024).await {
        Err(RemoteError::Unavailable(m)) => {
            assert!(m.contains("command not found: no-such-program-xyz"), "{m}")
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn files_are_written_atomically_with_modes_and_described() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conf");
    let path = path.to_str().unwrap();
    files_round_trip(&Transport::Local(LocalTransport), path).await;
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 1, "no temporary file left behind");
}

#[tokio::test]
async fn only_regular_files_are_read_and_never_past_the_limit() {
    let local = Transport::Local(LocalTransport);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // A device reports size 0 and never ends; a FIFO blocks its reader.
    // Under `become` files are read with commands, as over SSH.
    let mut as_root = capstan_engine::target::Target::local();
    as_root.become_user = Some(capstan_engine::remote::Become {
        user: "root".into(),
        password_env: None,
        ..Default::default()
    });
    for path in ["/dev/zero", fifo.to_str().unwrap(), "/tmp"] {
        match local.read_file(path, 1 << 20).await {
            Err(RemoteError::Failed(m)) => assert!(m.contains("not a regular file"), "{m}"),
            other => panic!("{path}: expected a refusal, got {other:?}"),
        }
        match as_root.read_file(path, 1 << 20).await {
            Err(RemoteError::Failed(m)) => assert!(m.contains("not a regular file"), "{m}"),
            other => panic!("{path} through commands: expected a refusal, got {other:?}"),
        }
    }
    let file = dir.path().join("big");
    std::fs::write(&file, vec![b'x'; 4096]).unwrap();
    match local.read_file(file.to_str().unwrap(), 4095).await {
        Err(RemoteError::TooLarge(m)) => assert!(m.contains("4095-byte limit"), "{m}"),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(
        local
            .read_file(file.to_str().unwrap(), 4096)
            .await
            .unwrap()
            .len(),
        4096
    );
}

#[tokio::test]
async fn a_new_file_is_never_open_to_others_before_its_mode_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    let local = Transport::Local(LocalTransport);
    // A file planted under the old predictable temporary name is not
    // followed or reused.
    let planted = dir
        .path()
        .join(format!(".secret.capstan-{}", std::process::id()));
    std::os::unix::fs::symlink("/etc/passwd-capstan-never", &planted).unwrap();
    local
        .write_file(path.to_str().unwrap(), b"s3cret", Some(0o600))
        .await
        .unwrap();
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);
    assert!(std::fs::symlink_metadata(&planted).is_ok(), "left alone");
    assert!(!std::path::Path::new("/etc/passwd-capstan-never").exists());
}
