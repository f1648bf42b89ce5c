//! The local transport: commands and files on the machine running Capstan.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use super::{Chunk, ExecOutput, ExecRequest, FileInfo, FileKind, RemoteError, Running};

/// Runs on this machine, as the user running Capstan.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalTransport;

impl LocalTransport {
    /// Spawns `argv` directly (no shell) and collects its output, killing it
    /// when either stream passes `max_output` bytes.
    pub async fn exec(
        &self,
        request: &ExecRequest,
        max_output: u64,
    ) -> Result<ExecOutput, RemoteError> {
        let mut running = Running::Local(self.start(request).await?);
        running.send_input(request.stdin.clone()).await?;
        running
            .collect(ExecOutput::default(), max_output, &request.argv[0])
            .await
    }

    /// Reads a regular file of at most `max_size` bytes. The size is
    /// checked while reading, not only from metadata, so a file that grows
    /// (or a device, a FIFO) cannot make Capstan allocate without bound.
    pub async fn read_file(&self, path: &str, max_size: u64) -> Result<Vec<u8>, RemoteError> {
        let mut options = tokio::fs::OpenOptions::new();
        options.read(true);
        // A FIFO would block the open until someone writes to it.
        #[cfg(unix)]
        options.custom_flags(libc::O_NONBLOCK);
        let file = options
            .open(path)
            .await
            .map_err(|e| io_error("read", path, e))?;
        let meta = file
            .metadata()
            .await
            .map_err(|e| io_error("read", path, e))?;
        if !meta.is_file() {
            return Err(RemoteError::Failed(format!(
                "read {path}: not a regular file (a device, FIFO or folder is never read whole)"
            )));
        }
        let too_large =
            || RemoteError::TooLarge(format!("{path} is larger than the {max_size}-byte limit"));
        if meta.len() > max_size {
            return Err(too_large());
        }
        let mut contents = Vec::with_capacity(meta.len() as usize);
        file.take(max_size.saturating_add(1))
            .read_to_end(&mut contents)
            .await
            .map_err(|e| io_error("read", path, e))?;
        if contents.len() as u64 > max_size {
            return Err(too_large());
        }
        Ok(contents)
    }

    /// Writes through a new temporary file in the same folder (a random
    /// name, created exclusively with its final mode, so no one else can
    /// open it first) and a rename, so a reader never sees half a file.
    /// Keeps the old mode unless `mode` is given.
    pub async fn write_file(
        &self,
        path: &str,
        contents: &[u8],
        mode: Option<u32>,
    ) -> Result<(), RemoteError> {
        let target = Path::new(path);
        let dir = target
            .parent()
            .ok_or_else(|| RemoteError::Failed(format!("{path} has no parent folder")))?;
        let file_name = target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("file");
        let old_mode = tokio::fs::metadata(path)
            .await
            .ok()
            .map(|m| permissions_of(&m));
        let bits = mode.or(old_mode);
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| RemoteError::Failed(format!("random: {e}")))?;
        let suffix: String = suffix.iter().map(|b| format!("{b:02x}")).collect();
        let temp = dir.join(format!(".{file_name}.capstan-{suffix}"));
        let result = async {
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            options.mode(bits.unwrap_or(0o666));
            let mut file = options.open(&temp).await?;
            // The umask may have narrowed the mode given at creation.
            if let Some(bits) = bits {
                set_mode(&temp, bits).await?;
            }
            file.write_all(contents).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&temp, target).await
        }
        .await;
        if let Err(e) = result {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_error("write", path, e));
        }
        Ok(())
    }

    /// Describes a path without following symlinks.
    pub async fn stat(&self, path: &str) -> Result<Option<FileInfo>, RemoteError> {
        let meta = match tokio::fs::symlink_metadata(path).await {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("stat", path, e)),
        };
        let file_type = meta.file_type();
        let kind = if file_type.is_symlink() {
            FileKind::Symlink
        } else if file_type.is_dir() {
            FileKind::Directory
        } else if file_type.is_file() {
            FileKind::File
        } else {
            FileKind::Other
        };
        let link_target = if kind == FileKind::Symlink {
            tokio::fs::read_link(path)
                .await
                .ok()
                .map(|p| p.to_string_lossy().into_owned())
        } else {
            None
        };
        let (uid, gid) = owner_of(&meta);
        Ok(Some(FileInfo {
            kind,
            size: meta.len(),
            mode: permissions_of(&meta),
            uid,
            gid,
            link_target,
        }))
    }
}

/// A local command started with its input open, read chunk by chunk.
///
/// On Unix it leads a process group of its own; dropped (or aborted)
/// before it exited, the whole group is sent SIGTERM, then SIGKILL if the
/// command has not exited after 3 s, so what it started (a
/// shell's children) goes with it. Elsewhere the command alone is killed.
pub struct LocalRunning {
    /// `None` once handed over to be stopped.
    child: Option<tokio::process::Child>,
    stdin: Option<tokio::process::ChildStdin>,
    chunks: tokio::sync::mpsc::Receiver<Chunk>,
    /// The command's exit code once it was reaped: its output is then
    /// drained for as long as it keeps coming.
    reaped: Option<Option<i32>>,
    /// `Exit` was handed out.
    exited: bool,
}

/// How long output may pause once the command exited before it counts as
/// ended: a process it left in the background may hold the output open
/// for ever (`sleep 10 &`), and, as Ansible does, the task ends anyway.
const OUTPUT_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

impl LocalTransport {
    /// Starts `argv` (no shell) with stdin left open, for a caller that
    /// answers what the command asks (sudo's password prompt).
    pub async fn start(&self, request: &ExecRequest) -> Result<LocalRunning, RemoteError> {
        let mut command = tokio::process::Command::new(&request.argv[0]);
        command
            .args(&request.argv[1..])
            .envs(request.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &request.cwd {
            command.current_dir(dir);
        }
        // Its own group, so stopping it reaches what it starts; Ctrl-C in
        // Capstan's terminal cancels the job, which stops the group.
        #[cfg(unix)]
        command.process_group(0);
        #[cfg(target_os = "linux")]
        die_with_capstan(&mut command);
        let mut child = command.spawn().map_err(|e| spawn_error(request, e))?;
        let (tx, chunks) = tokio::sync::mpsc::channel(16);
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        tokio::spawn(forward(stdout, tx.clone(), Chunk::Stdout));
        tokio::spawn(forward(stderr, tx, Chunk::Stderr));
        Ok(LocalRunning {
            stdin: child.stdin.take(),
            child: Some(child),
            chunks,
            reaped: None,
            exited: false,
        })
    }
}

async fn forward(
    mut stream: impl AsyncRead + Unpin,
    tx: tokio::sync::mpsc::Sender<Chunk>,
    wrap: fn(Vec<u8>) -> Chunk,
) {
    let mut chunk = vec![0u8; 16 * 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk).await {
        if tx.send(wrap(chunk[..n].to_vec())).await.is_err() {
            return;
        }
    }
}

impl LocalRunning {
    /// Writes to the command's stdin.
    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), RemoteError> {
        if let Some(pipe) = &mut self.stdin {
            // A command that exits without reading its input is not an error.
            let _ = pipe.write_all(bytes).await;
        }
        Ok(())
    }

    /// Writes the command's input, if any, and closes its stdin. The
    /// writing goes on beside the reading, so a command that answers as
    /// it reads (`cat`) never waits on a full pipe while Capstan waits on it.
    pub async fn send_input(&mut self, input: Option<Vec<u8>>) -> Result<(), RemoteError> {
        if let (Some(mut pipe), Some(bytes)) = (self.stdin.take(), input) {
            tokio::spawn(async move {
                // A command that exits without reading its input is not an error.
                let _ = pipe.write_all(&bytes).await;
            });
        }
        Ok(())
    }

    /// The next piece of output, then `Exit` once both streams ended, or
    /// once the command exited and its output paused for `OUTPUT_GRACE`.
    pub async fn next(&mut self) -> Result<Option<Chunk>, RemoteError> {
        if self.exited {
            return Ok(None);
        }
        loop {
            if let Some(code) = self.reaped {
                if let Ok(Some(chunk)) =
                    tokio::time::timeout(OUTPUT_GRACE, self.chunks.recv()).await
                {
                    return Ok(Some(chunk));
                }
                self.exited = true;
                return Ok(Some(Chunk::Exit(code)));
            }
            let child = self.child.as_mut().expect("only taken when stopping");
            tokio::select! {
                chunk = self.chunks.recv() => {
                    if chunk.is_some() {
                        return Ok(chunk);
                    }
                    let status = child.wait().await.map_err(wait_error)?;
                    self.exited = true;
                    return Ok(Some(Chunk::Exit(status.code())));
                }
                status = child.wait() => {
                    self.reaped = Some(status.map_err(wait_error)?.code());
                }
            }
        }
    }

    /// Stops the command (and, on Unix, what it started), in a task of its
    /// own: the caller goes on at once.
    pub async fn abort(self) {
        drop(self);
    }
}

/// How long a local command given up on has to exit after SIGTERM.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

impl Drop for LocalRunning {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Reaped: its id may already be another process's.
        if self.exited || self.reaped.is_some() {
            return;
        }
        #[cfg(unix)]
        if let (Some(pid), Ok(runtime)) = (child.id(), tokio::runtime::Handle::try_current()) {
            // The child is not reaped until the group is signalled for the
            // last time, so its id cannot be reused meanwhile.
            signal_group(pid, libc::SIGTERM);
            runtime.spawn(async move {
                let exited = tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok();
                if !exited {
                    signal_group(pid, libc::SIGKILL);
                    let _ = child.wait().await;
                }
            });
            return;
        }
        // No group to signal: `kill_on_drop` kills the command itself.
        let _ = child.start_kill();
    }
}

/// Has the kernel kill the command if Capstan dies without stopping it (a
/// `kill -9` of `capstan serve`): otherwise it would run on, orphaned, with
/// its job already recorded as interrupted. (What a shell command starts
/// in turn is its own; the ordinary stop signals the whole group.) The
/// kernel watches the thread that started the command, not the process:
/// commands start from the async runtime's workers, which live as long as
/// Capstan, never from a blocking-pool thread that may end while they run.
#[cfg(target_os = "linux")]
fn die_with_capstan(command: &mut tokio::process::Command) {
    let capstan = std::process::id();
    // SAFETY: between fork and exec the closure only makes two
    // async-signal-safe calls (prctl, getppid) and touches no memory it
    // shares with the parent.
    #[allow(unsafe_code)]
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Capstan died before the call above took effect: go now.
            if libc::getppid() as u32 != capstan {
                return Err(std::io::Error::other(
                    "Capstan exited while the command started",
                ));
            }
            Ok(())
        });
    }
}

/// Sends `signal` to the process group `pid` leads.
#[cfg(unix)]
fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: killpg only sends a signal; it touches no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::killpg(pid, signal);
    }
}

/// Why a command could not start, in words that name the cause.
fn wait_error(e: std::io::Error) -> RemoteError {
    RemoteError::Failed(format!("waiting for a command: {e}"))
}

fn spawn_error(request: &ExecRequest, e: std::io::Error) -> RemoteError {
    let program = &request.argv[0];
    match e.kind() {
        ErrorKind::NotFound if request.cwd.as_ref().is_some_and(|d| !Path::new(d).is_dir()) => {
            RemoteError::Unavailable(format!(
                "working directory {} does not exist",
                request.cwd.as_deref().unwrap_or("")
            ))
        }
        ErrorKind::NotFound => RemoteError::Unavailable(format!("command not found: {program}")),
        _ => RemoteError::Failed(format!("could not start {program}: {e}")),
    }
}

fn io_error(what: &str, path: &str, e: std::io::Error) -> RemoteError {
    match e.kind() {
        ErrorKind::NotFound => {
            RemoteError::Unavailable(format!("{what} {path}: no such file or folder"))
        }
        ErrorKind::PermissionDenied => {
            RemoteError::Failed(format!("{what} {path}: permission denied"))
        }
        _ => RemoteError::Failed(format!("{what} {path}: {e}")),
    }
}

#[cfg(unix)]
fn permissions_of(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn permissions_of(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

#[cfg(unix)]
fn owner_of(meta: &std::fs::Metadata) -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    (meta.uid(), meta.gid())
}

#[cfg(not(unix))]
fn owner_of(_meta: &std::fs::Metadata) -> (u32, u32) {
    (0, 0)
}

#[cfg(unix)]
async fn set_mode(path: &Path, bits: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    tokio::fs::set_permissions(path, std::fs::Permissions::from_mode(bits)).await
}

#[cfg(not(unix))]
async fn set_mode(_path: &Path, _bits: u32) -> std::io::Result<()> {
    Ok(())
}
