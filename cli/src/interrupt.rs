//! Ctrl-C during a run: the first one cancels the job (its commands are
//! stopped on the hosts and it is recorded `cancelled`), a second one quits
//! at once.

use capstan_engine::JobControl;
use tokio_util::sync::CancellationToken;

use crate::exit::Exit;

/// A job control cancelled by the first Ctrl-C while the returned guard lives.
pub fn cancel_on_ctrl_c() -> (JobControl, Guard) {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let task = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!("cancelling: stopping what runs on the hosts (Ctrl-C again to quit at once)");
        trigger.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(Exit::Cancelled as i32);
        }
    });
    (JobControl::cancelled_by(cancel), Guard(task))
}

/// Stops listening for Ctrl-C when dropped.
pub struct Guard(tokio::task::JoinHandle<()>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.abort();
    }
}
