//! For a face that starts a job in the background and answers with its
//! number as soon as it is recorded (the window, the API): a callback for
//! the engine's "started" event, and the receiver that gets the number.

use std::sync::Mutex;

use tokio::sync::oneshot;

/// A callback to call with the job's number when the run announces it
/// (the first call counts), and the receiver that gets it. The receiver
/// fails when the callback is dropped uncalled: the run stopped before it
/// recorded a job, and its own result says why.
pub fn started_signal() -> (impl Fn(i64) + Send + Sync + 'static, oneshot::Receiver<i64>) {
    let (tx, rx) = oneshot::channel();
    let tx = Mutex::new(Some(tx));
    let started = move |job_id: i64| {
        if let Some(tx) = tx.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(job_id);
        }
    };
    (started, rx)
}
