//! A command running over SSH: its output read chunk by chunk, with the
//! process-id line the command line begins with taken off, and the command
//! stopped on the host when its caller gives up on it.

use std::sync::Arc;
use std::time::Duration;

use russh::client::{self, Handle};
use russh::{ChannelMsg, Sig};
use tokio_util::task::TaskTracker;

use super::HostKeyCheck;
use crate::quote::PID_MARKER;
use crate::{Chunk, RemoteError};

/// How long a command given up on has to exit after SIGTERM before it is
/// sent SIGKILL.
pub(super) const STOP_GRACE: Duration = Duration::from_secs(3);

/// How long after SIGKILL the channel is waited for before it is closed.
pub(super) const STOP_AFTER_KILL: Duration = Duration::from_secs(1);

/// The longest first line that can be the process-id line.
const PID_LINE_MAX: usize = PID_MARKER.len() + 12;

/// A command running over SSH with its input open, read chunk by chunk.
///
/// Dropped (or aborted) before its command exited, it stops the command
/// on the host: closing an exec channel without a terminal kills nothing.
/// The command said its process id first (see
/// [`command_line`](crate::quote::command_line)); it leads its own process
/// group, which a second exec on the connection signals, SIGTERM and then
/// SIGKILL, as the login user (a sudo in the group passes the signal on to
/// its command). Without an id (a host that ignored the command line), the
/// channel is sent a `signal` request, which sshd honours for non-root
/// logins, and closed.
pub struct SshRunning {
    /// `None` once handed to the task that stops it.
    channel: Option<russh::Channel<client::Msg>>,
    stopping: TaskTracker,
    handle: Arc<Handle<HostKeyCheck>>,
    name: String,
    program: String,
    /// The start of stdout while it may still be the process-id line.
    head: Option<Vec<u8>>,
    pid: Option<u32>,
    /// Output held back while the exit was read (the head of a command
    /// whose output was shorter than a line).
    held: Option<Chunk>,
    exit: Option<Option<i32>>,
    done: bool,
}

impl SshRunning {
    pub(super) fn new(
        channel: russh::Channel<client::Msg>,
        handle: Arc<Handle<HostKeyCheck>>,
        stopping: TaskTracker,
        name: &str,
        program: &str,
    ) -> Self {
        SshRunning {
            channel: Some(channel),
            stopping,
            handle,
            name: name.to_string(),
            program: program.to_string(),
            head: Some(Vec::new()),
            pid: None,
            held: None,
            exit: None,
            done: false,
        }
    }

    fn lost(&self, e: russh::Error) -> RemoteError {
        RemoteError::Unreachable(format!("{}: connection lost: {e}", self.name))
    }

    fn channel(&mut self) -> &mut russh::Channel<client::Msg> {
        self.channel
            .as_mut()
            .expect("the channel is only taken when stopping")
    }

    /// Writes to the command's stdin.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        let sent = self.channel().data(bytes).await;
        sent.map_err(|e| self.lost(e))
    }

    /// Writes the command's input, if any, and closes its stdin.
    pub async fn send_input(&mut self, input: Option<Vec<u8>>) -> Result<(), RemoteError> {
        if let Some(bytes) = input {
            self.send(&bytes).await?;
        }
        let sent = self.channel().eof().await;
        sent.map_err(|e| self.lost(e))
    }

    /// The next piece of output, then `Exit` once the channel closed.
    pub async fn next(&mut self) -> Result<Option<Chunk>, RemoteError> {
        if let Some(chunk) = self.held.take() {
            return Ok(Some(chunk));
        }
        if self.done {
            return Ok(None);
        }
        while let Some(message) = self.channel().wait().await {
            match message {
                ChannelMsg::Data { data } => {
                    if let Some(out) = self.stdout(&data) {
                        return Ok(Some(Chunk::Stdout(out)));
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    return Ok(Some(Chunk::Stderr(data.to_vec())));
                }
                ChannelMsg::ExitStatus { exit_status } => {
                    self.exit = Some(Some(exit_status as i32))
                }
                ChannelMsg::ExitSignal { .. } => self.exit = Some(None),
                _ => {}
            }
        }
        self.done = true;
        let end = match self.exit {
            Some(code) => Chunk::Exit(code),
            None => {
                let why = if self.handle.is_closed() {
                    "connection lost"
                } else {
                    "the channel closed"
                };
                return Err(RemoteError::Unreachable(format!(
                    "{}: {why} while `{}` was running",
                    self.name, self.program
                )));
            }
        };
        match self.head.take().filter(|h| !h.is_empty()) {
            Some(head) => {
                self.held = Some(end);
                Ok(Some(Chunk::Stdout(head)))
            }
            None => Ok(Some(end)),
        }
    }

    /// Output as the caller should see it: the process-id line taken off
    /// the start. `None` while the first line is still being read.
    fn stdout(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        let Some(head) = self.head.as_mut() else {
            return Some(data.to_vec());
        };
        head.extend_from_slice(data);
        let (pid, rest) = match split_pid_line(head) {
            PidLine::Incomplete => return None,
            PidLine::Found(pid, rest) => (Some(pid), rest.to_vec()),
            PidLine::Absent => (None, std::mem::take(head)),
        };
        self.pid = pid;
        self.head = None;
        (!rest.is_empty()).then_some(rest)
    }

    /// Stops the command on the host (unless it already exited) and
    /// closes its channel, in a task of its own: the caller goes on at
    /// once, and the transport waits for it before hanging up.
    pub async fn abort(self) {
        drop(self);
    }

    /// What stopping the command takes, handing the channel over; `None`
    /// when it was already handed over.
    fn stopper(&mut self) -> Option<Stopper> {
        let channel = self.channel.take()?;
        Some(Stopper {
            channel,
            handle: self.handle.clone(),
            pid: self.pid,
            head: self.head.take(),
            exited: self.exit.is_some() || self.done,
            name: self.name.clone(),
            program: self.program.clone(),
        })
    }
}

impl Drop for SshRunning {
    /// A caller that gave up (a cancelled job drops its futures, output
    /// passed its limit) leaves the stopping to a task the transport waits
    /// for before hanging up.
    fn drop(&mut self) {
        let Some(stop) = self.stopper() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) if !stop.exited => {
                self.stopping.spawn_on(stop.run(), &runtime);
            }
            // Exited, or no runtime to stop it from: the channel closes
            // as it is dropped.
            _ => {}
        }
    }
}

/// What the start of stdout says about the process-id line.
#[derive(Debug, PartialEq, Eq)]
enum PidLine<'a> {
    /// The line, with what follows it.
    Found(u32, &'a [u8]),
    /// Too little has come to tell.
    Incomplete,
    /// The output does not begin with it (a host that ran something else).
    Absent,
}

fn split_pid_line(head: &[u8]) -> PidLine<'_> {
    let marker = PID_MARKER.as_bytes();
    let shared = head.len().min(marker.len());
    if head[..shared] != marker[..shared] {
        return PidLine::Absent;
    }
    let Some(end) = head.iter().position(|&b| b == b'\n') else {
        return match head.len() > PID_LINE_MAX {
            true => PidLine::Absent,
            false => PidLine::Incomplete,
        };
    };
    let digits = std::str::from_utf8(&head[marker.len().min(end)..end]).unwrap_or("");
    match digits.parse::<u32>() {
        Ok(pid) if pid > 1 => PidLine::Found(pid, &head[end + 1..]),
        _ => PidLine::Absent,
    }
}

/// Stops one command on its host.
struct Stopper {
    channel: russh::Channel<client::Msg>,
    handle: Arc<Handle<HostKeyCheck>>,
    pid: Option<u32>,
    /// The start of stdout, when the process-id line had not come yet.
    head: Option<Vec<u8>>,
    exited: bool,
    name: String,
    program: String,
}

impl Stopper {
    /// Signals the command (TERM, then KILL after [`STOP_GRACE`]) unless
    /// it exited, and closes its channel.
    async fn run(mut self) {
        if let Some(head) = self
            .head
            .take()
            .filter(|_| self.pid.is_none() && !self.exited)
        {
            self.pid = self.pid_line(head).await;
        }
        if !self.exited && self.pid.is_none() {
            // A host that did not run our command line: ask sshd to
            // signal it (refused for root logins); closing the channel then
            // ends a command that writes to it.
            let _ = self.channel.signal(Sig::TERM).await;
        } else if !self.exited {
            let (host, program) = (self.name.clone(), self.program.clone());
            tracing::debug!(
                host,
                program,
                pid = self.pid,
                "stopping a command given up on"
            );
            let mut gone = self.signal(Sig::TERM).await && self.exits_within(STOP_GRACE).await;
            if !gone {
                tracing::warn!(
                    host,
                    program,
                    "still running {STOP_GRACE:?} after SIGTERM: sending SIGKILL"
                );
                gone = self.signal(Sig::KILL).await && self.exits_within(STOP_AFTER_KILL).await;
            }
            if !gone {
                tracing::warn!(
                    host,
                    program,
                    "no exit seen after SIGKILL; closing its channel"
                );
            }
        }
        let _ = self.channel.close().await;
    }

    /// Reads the process-id line of a command given up on before it came
    /// (waiting at most [`STOP_AFTER_KILL`]).
    async fn pid_line(&mut self, mut head: Vec<u8>) -> Option<u32> {
        let read = async {
            while let Some(message) = self.channel.wait().await {
                match message {
                    ChannelMsg::Data { data } => {
                        head.extend_from_slice(&data);
                        match split_pid_line(&head) {
                            PidLine::Found(pid, _) => return Some(pid),
                            PidLine::Absent => return None,
                            PidLine::Incomplete => {}
                        }
                    }
                    ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. } => {
                        self.exited = true;
                        return None;
                    }
                    _ => {}
                }
            }
            self.exited = true;
            None
        };
        tokio::time::timeout(STOP_AFTER_KILL, read)
            .await
            .ok()
            .flatten()
    }

    /// Sends `signal` to the command's process group; false when it could
    /// not be sent.
    async fn signal(&self, signal: Sig) -> bool {
        let Some(pid) = self.pid else {
            return false;
        };
        let name = match signal {
            Sig::KILL => "KILL",
            _ => "TERM",
        };
        // The group, or the process alone if it left the group.
        let line = format!("kill -{name} -- -{pid} 2>/dev/null || kill -{name} {pid}");
        let sent = async {
            let mut helper = self.handle.channel_open_session().await.ok()?;
            helper.exec(true, line).await.ok()?;
            while let Some(message) = helper.wait().await {
                if let ChannelMsg::ExitStatus { exit_status } = message {
                    return Some(exit_status == 0);
                }
            }
            None
        };
        tokio::time::timeout(STOP_AFTER_KILL, sent)
            .await
            .ok()
            .flatten()
            .unwrap_or(false)
    }

    /// True once the channel reports the command's exit (or closes) within `limit`.
    async fn exits_within(&mut self, limit: Duration) -> bool {
        let exit = async {
            while let Some(message) = self.channel.wait().await {
                if matches!(
                    message,
                    ChannelMsg::ExitStatus { .. }
                        | ChannelMsg::ExitSignal { .. }
                        | ChannelMsg::Close
                ) {
                    return;
                }
            }
        };
        tokio::time::timeout(limit, exit).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pid_line_is_read_off_the_start_of_the_output() {
        assert_eq!(
            split_pid_line(b"capstan-pid:4242\nhello"),
            PidLine::Found(4242, b"hello")
        );
        assert_eq!(split_pid_line(b"capstan-pid:42"), PidLine::Incomplete);
        assert_eq!(split_pid_line(b"caps"), PidLine::Incomplete);
        assert_eq!(split_pid_line(b"hello\n"), PidLine::Absent);
        assert_eq!(split_pid_line(b"capstan-pid:x\n"), PidLine::Absent);
        assert_eq!(
            split_pid_line(b"capstan-pid:1\n"),
            PidLine::Absent,
            "never init"
        );
        assert_eq!(
            split_pid_line(&[b'x'; 64]),
            PidLine::Absent,
            "a flood is not held back"
        );
        assert_eq!(
            split_pid_line(b"capstan-pid:123456789012345678901234567"),
            PidLine::Absent
        );
    }
}
