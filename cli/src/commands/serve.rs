//! `capstan serve`: the engine as a long-lived service with the HTTP API,
//! on a Unix socket in the data folder and, with `--listen`, on TCP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;

use capstan_engine::Capstan;
use capstan_server::AppState;

use crate::exit::{BadInput, Exit};

/// Arguments of `capstan serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The Unix socket to listen on (made 0600). Default: capstan.sock in
    /// the data folder.
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Also listen on TCP, e.g. 127.0.0.1:8470; every request then needs
    /// a token. Beyond loopback, TLS is required.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// TLS on the TCP listener: the certificate chain (PEM), leaf first.
    #[arg(long, value_name = "FILE", requires_all = ["tls_key", "listen"], conflicts_with = "self_signed")]
    tls_cert: Option<PathBuf>,
    /// TLS on the TCP listener: the certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// TLS with a certificate made for trying it (kept in tls/ in the data
    /// folder); clients trust it with `--ca-cert` that file.
    #[arg(long, requires = "listen")]
    self_signed: bool,
    /// How long jobs the service runs get to finish once it is told to
    /// stop, before they are cancelled (and recorded so): `30s`, `5m`.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = crate::commands::tokens::parse_lifetime)]
    grace: std::time::Duration,
    /// Failed authentications one address may make in a minute before it
    /// is refused (429) until the minute ends.
    #[arg(long, value_name = "N", default_value_t = capstan_server::auth::MAX_FAILURES)]
    auth_failures: u32,
    /// Print a systemd unit that runs this service, and exit.
    #[arg(long)]
    print_unit: bool,
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn exec(capstan: Capstan, args: ServeArgs) -> anyhow::Result<Exit> {
    if args.print_unit {
        print!("{}", unit(&capstan, &args)?);
        return Ok(Exit::Success);
    }
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| capstan.home().socket());
    let actor = capstan.actor();
    let state = AppState::new(Arc::new(capstan), Some(actor), args.auth_failures);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let no_more_firings = tokio_util::sync::CancellationToken::new();
    let stop_firing = no_more_firings.clone();
    let signalled = tokio::spawn(async move {
        stop_signal().await;
        eprintln!("capstan serve: stopping");
        stop_firing.cancel();
        let _ = stop.send(true);
    });
    // Events owed from before a stop or crash go first, so each plugin
    // still sees its events in the order they were published.
    state
        .events
        .resume()
        .context("handing again the events owed from before the restart")?;
    let scheduler = tokio::spawn(capstan_server::scheduler::run(
        state.clone(),
        no_more_firings.clone(),
    ));
    // Announces the end of every job, the service's and other processes',
    // and sends the notifications that ends queue.
    let no_more_watching = tokio_util::sync::CancellationToken::new();
    let watcher = tokio::spawn(capstan_server::watch::job_ends(
        state.clone(),
        no_more_watching.clone(),
    ));
    let notifier = tokio::spawn(capstan_server::notifier::run(
        state.clone(),
        no_more_watching.clone(),
    ));
    let docker_events = tokio::spawn(capstan_server::docker_events::run(
        state.clone(),
        no_more_watching.clone(),
    ));
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    eprintln!("capstan serve: listening on {}", socket.display());
    let tls = tls_config(&state, &args)?;
    let tcp = args.listen.map(|address| {
        let scheme = if tls.is_some() { "https" } else { "http" };
        eprintln!("capstan serve: listening on {scheme}://{address} (tokens required)");
        tokio::spawn(capstan_server::listen::on_tcp(
            address,
            tls.clone(),
            state.clone(),
            until_stopped(),
        ))
    });
    #[cfg(unix)]
    let served = capstan_server::listen::on_socket(&socket, state.clone(), until_stopped()).await;
    #[cfg(not(unix))]
    let served: Result<(), capstan_server::listen::ListenError> = {
        let _ = socket;
        until_stopped().await;
        Ok(())
    };
    signalled.abort();
    no_more_firings.cancel();
    let _ = scheduler.await;
    let waited = state.finish_jobs(args.grace).await;
    // One more look, so the jobs that ended in the grace period are announced.
    tokio::time::sleep(capstan_server::watch::LOOK_EVERY).await;
    no_more_watching.cancel();
    let _ = watcher.await;
    let _ = notifier.await;
    let _ = docker_events.await;
    if waited > 0 {
        eprintln!("capstan serve: {waited} job(s) were running; each finished or was cancelled");
    }
    served.map_err(|e| BadInput(e.to_string()))?;
    if let Some(tcp) = tcp {
        tcp.await?.map_err(|e| BadInput(e.to_string()))?;
    }
    Ok(Exit::Success)
}

/// The TCP listener's TLS: from `--tls-cert`/`--tls-key`, or made with
/// `--self-signed`; its fingerprint is printed for clients to check.
fn tls_config(
    state: &AppState,
    args: &ServeArgs,
) -> anyhow::Result<Option<Arc<capstan_server::tls::ServerConfig>>> {
    use capstan_server::tls::{self, TlsFiles};
    let files = match (&args.tls_cert, &args.tls_key, args.self_signed, args.listen) {
        (Some(cert), Some(key), _, _) => TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        },
        (_, _, true, Some(address)) => {
            let names = self_signed_names(address);
            let files = tls::self_signed(&state.capstan.home().root().join("tls"), &names)
                .map_err(|e| BadInput(e.to_string()))?;
            eprintln!(
                "capstan serve: self-signed certificate for {} in {} (clients: --ca-cert {})",
                names.join(", "),
                files.cert.display(),
                files.cert.display()
            );
            files
        }
        _ => return Ok(None),
    };
    let config = files.server_config().map_err(|e| BadInput(e.to_string()))?;
    eprintln!(
        "capstan serve: certificate SHA-256 fingerprint {}",
        files.fingerprint().map_err(|e| BadInput(e.to_string()))?
    );
    Ok(Some(config))
}

/// What a self-signed certificate for `address` names: localhost, the
/// address (unless it is 0.0.0.0 or ::), and this machine's host name.
fn self_signed_names(address: SocketAddr) -> Vec<String> {
    let mut names = vec!["localhost".to_string()];
    if !address.ip().is_unspecified() {
        names.push(address.ip().to_string());
    }
    if let Some(host) = capstan_engine::inventory::this_host_name()
        && !names.iter().any(|n| n == host)
    {
        names.push(host.to_string());
    }
    names
}

/// SIGTERM (systemd's stop) or Ctrl-C.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// A systemd unit for this service, as this user, on this data folder.
fn unit(capstan: &Capstan, args: &ServeArgs) -> anyhow::Result<String> {
    let program = std::env::current_exe()?;
    let mut command = format!(
        "{} --home {} serve",
        program.display(),
        capstan.home().root().display()
    );
    if let Some(socket) = &args.socket {
        command.push_str(&format!(" --socket {}", socket.display()));
    }
    if let Some(address) = &args.listen {
        command.push_str(&format!(" --listen {address}"));
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        command.push_str(&format!(
            " --tls-cert {} --tls-key {}",
            cert.display(),
            key.display()
        ));
    } else if args.self_signed {
        command.push_str(" --self-signed");
    }
    Ok(format!(
        "[Unit]\n\
         Description=Capstan service (HTTP API, schedules, webhooks)\n\
         After=network-online.target\n\
         Wants=network-online.target\n\
         \n\
         [Service]\n\
         User={user}\n\
         ExecStart={command}\n\
         Restart=on-failure\n\
         # Running jobs get --grace (30 s) to finish after a stop, then are cancelled.\n\
         TimeoutStopSec=60\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        user = capstan.actor().name(),
    ))
}
