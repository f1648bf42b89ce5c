//! A command's standard output as a bounded byte stream, for bodies too
//! big to hold in memory: an image tar, a build context. The stream stops
//! at its limit; why it stopped (the limit, the command's failure, a lost
//! connection) is kept for the caller, whose consumer (Docker) only sees
//! that the body broke off.

use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures_util::Stream;

use super::{Chunk, RemoteError, Running};

/// A body of bytes read as it is sent.
pub type ByteStream =
    Pin<Box<dyn Stream<Item = Result<bytes::Bytes, std::io::Error>> + Send + 'static>>;

/// Where a [`ByteStream`] leaves the reason it broke off, if it did.
#[derive(Clone, Debug, Default)]
pub struct StreamFailure(Arc<Mutex<Option<RemoteError>>>);

impl StreamFailure {
    /// The reason the stream broke off, if it did.
    pub fn take(&self) -> Option<RemoteError> {
        self.0.lock().map(|mut f| f.take()).unwrap_or(None)
    }

    fn set(&self, error: RemoteError) -> std::io::Error {
        let io = std::io::Error::other(error.to_string());
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(error);
        }
        io
    }
}

/// Standard error kept to explain a failure.
const STDERR_KEPT: usize = 16 << 10;

struct State {
    running: Option<Running>,
    sent: u64,
    limit: u64,
    stderr: Vec<u8>,
    program: String,
    failure: StreamFailure,
}

/// Streams `running`'s standard output, stopping it once more than `limit`
/// bytes came; a non-zero exit breaks the stream off with its stderr.
pub fn stdout_stream(running: Running, limit: u64, program: &str) -> (ByteStream, StreamFailure) {
    let failure = StreamFailure::default();
    let state = State {
        running: Some(running),
        sent: 0,
        limit,
        stderr: Vec::new(),
        program: program.to_string(),
        failure: failure.clone(),
    };
    let stream = futures_util::stream::unfold(state, |mut state| async move {
        let running = state.running.as_mut()?;
        loop {
            let error = match running.next().await {
                Ok(Some(Chunk::Stdout(data))) => {
                    state.sent += data.len() as u64;
                    if state.sent <= state.limit {
                        return Some((Ok(bytes::Bytes::from(data)), state));
                    }
                    RemoteError::TooLarge(format!(
                        "the output of `{}` passed the {}-byte limit; it was stopped",
                        state.program, state.limit
                    ))
                }
                Ok(Some(Chunk::Stderr(data))) => {
                    let room = STDERR_KEPT.saturating_sub(state.stderr.len());
                    state
                        .stderr
                        .extend_from_slice(&data[..data.len().min(room)]);
                    continue;
                }
                Ok(Some(Chunk::Exit(Some(0)))) => continue,
                Ok(Some(Chunk::Exit(code))) => RemoteError::Failed(format!(
                    "`{}` failed ({}): {}",
                    state.program,
                    code.map_or("killed by a signal".to_string(), |c| format!("exit {c}")),
                    String::from_utf8_lossy(&state.stderr).trim()
                )),
                Ok(None) => return None,
                Err(e) => e,
            };
            if let Some(running) = state.running.take() {
                running.abort().await;
            }
            let io = state.failure.set(error);
            return Some((Err(io), state));
        }
    });
    (Box::pin(stream), failure)
}

/// Bytes already in memory as a [`ByteStream`].
pub fn bytes_stream(data: Vec<u8>) -> ByteStream {
    Box::pin(futures_util::stream::once(async move {
        Ok(bytes::Bytes::from(data))
    }))
}
