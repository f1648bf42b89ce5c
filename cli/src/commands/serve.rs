//! `capstan serve`: the engine as a long-lived service with the HTTP API,
//! on a Unix socket in the data folder and, with `--listen`, on TCP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    /// a token. Loopback only until TLS lands.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
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
    let socket = args.socket.unwrap_or_else(|| capstan.home().socket());
    let actor = capstan.actor();
    let state = AppState {
        failures: Arc::new(capstan_server::auth::FailureLimiter::new(
            args.auth_failures,
        )),
        ..AppState::new(Arc::new(capstan), Some(actor))
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let signalled = tokio::spawn(async move {
        stop_signal().await;
        eprintln!("capstan serve: stopping");
        let _ = stop.send(true);
    });
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|s| *s).await;
        }
    };
    eprintln!("capstan serve: listening on {}", socket.display());
    let tcp = args.listen.map(|address| {
        eprintln!("capstan serve: listening on http://{address} (tokens required)");
        tokio::spawn(capstan_server::listen::on_tcp(
            address,
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
    let waited = state.finish_jobs(args.grace).await;
    if waited > 0 {
        eprintln!("capstan serve: {waited} job(s) were running; each finished or was cancelled");
    }
    served.map_err(|e| BadInput(e.to_string()))?;
    if let Some(tcp) = tcp {
        tcp.await?.map_err(|e| BadInput(e.to_string()))?;
    }
    Ok(Exit::Success)
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
