//! One way to run the same work over many targets or hosts at once: at
//! most `limit` at a time, results in the order the work was given, a
//! panic kept to its own item, and everything stopped when the run is
//! cancelled (work not started never starts; work under way is dropped at
//! its next await).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How one item of a fan-out ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finished<T> {
    /// Its work ran to the end.
    Done(T),
    /// The run was cancelled before its work ended (or began).
    Cancelled,
    /// Its work panicked; the message says how.
    Panicked(String),
}

/// Runs each future of `work` on the runtime, at most `limit` at once,
/// each in the current tracing span; returns how each ended, in the order
/// given. Cancelling `cancel` stops them all.
pub async fn fan_out<T, F>(
    work: impl IntoIterator<Item = F>,
    limit: usize,
    cancel: &CancellationToken,
) -> Vec<Finished<T>>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    let mut running = JoinSet::new();
    let mut index_of = HashMap::new();
    let mut ended: Vec<Finished<T>> = Vec::new();
    for (index, future) in work.into_iter().enumerate() {
        ended.push(Finished::Cancelled);
        let (slots, cancel) = (slots.clone(), cancel.clone());
        let task = async move {
            let run = async {
                let _slot = slots.acquire_owned().await.ok()?;
                Some(future.await)
            };
            tokio::select! {
                biased;
                _ = cancel.cancelled() => None,
                output = run => output,
            }
        };
        let handle = running.spawn(task.in_current_span());
        index_of.insert(handle.id(), index);
    }
    while let Some(joined) = running.join_next_with_id().await {
        match joined {
            Ok((id, Some(output))) => ended[index_of[&id]] = Finished::Done(output),
            Ok((_, None)) => {}
            Err(e) if e.is_panic() => {
                let index = index_of[&e.id()];
                ended[index] = Finished::Panicked(panic_message(e.into_panic()));
            }
            Err(_) => {}
        }
    }
    ended
}

/// The text a panic was raised with.
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or_else(
            || "a panic without a message".to_string(),
            |t| t.to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn results_come_back_in_order_and_at_most_limit_run_at_once() {
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let work = (0..12).map(|i| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(running, Ordering::SeqCst);
                // Later items finish first: order must come from the input.
                tokio::time::sleep(Duration::from_millis(30 - 2 * i)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                i * 10
            }
        });
        let ended = fan_out(work, 3, &CancellationToken::new()).await;
        let expected: Vec<_> = (0..12).map(|i| Finished::Done(i * 10)).collect();
        assert_eq!(ended, expected);
        assert_eq!(
            most.load(Ordering::SeqCst),
            3,
            "never more than the limit at once"
        );
    }

    #[tokio::test]
    async fn a_panic_stays_with_its_item() {
        let work = (0..3).map(|i| async move {
            if i == 1 {
                panic!("item {i} broke");
            }
            i
        });
        let ended = fan_out(work, 8, &CancellationToken::new()).await;
        assert_eq!(ended[0], Finished::Done(0));
        assert_eq!(ended[1], Finished::Panicked("item 1 broke".into()));
        assert_eq!(ended[2], Finished::Done(2));
    }

    #[tokio::test]
    async fn cancelling_stops_work_under_way_and_work_not_started() {
        let cancel = CancellationToken::new();
        let started = Arc::new(AtomicUsize::new(0));
        let work = (0..6).map(|i| {
            let started = started.clone();
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                if i == 0 {
                    return i;
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
                i
            }
        });
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            trigger.cancel();
        });
        let began = std::time::Instant::now();
        let ended = fan_out(work, 2, &cancel).await;
        assert!(
            began.elapsed() < Duration::from_secs(60),
            "the hour-long sleeps were dropped"
        );
        assert_eq!(ended[0], Finished::Done(0));
        assert!(
            ended[1..].iter().all(|e| *e == Finished::Cancelled),
            "{ended:?}"
        );
        assert_eq!(
            started.load(Ordering::SeqCst),
            3,
            "items 0 and 1, then 2 in 0's slot; the rest never began"
        );
    }
}
