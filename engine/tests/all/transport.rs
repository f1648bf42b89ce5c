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
