//! The terminal's echo, turned off while a secret is typed.

/// Turns the terminal's echo off while it lives (on Unix; elsewhere it
/// does nothing and what is typed shows).
pub struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    /// Echo off on stdin's terminal, if it is one.
    pub fn new() -> EchoOff {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr/tcsetattr on stdin with a termios owned here.
            #[allow(unsafe_code)]
            unsafe {
                let mut term: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                    return EchoOff { saved: None };
                }
                let saved = term;
                term.c_lflag &= !libc::ECHO;
                if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) != 0 {
                    return EchoOff { saved: None };
                }
                EchoOff { saved: Some(saved) }
            }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: restores the settings read in `new`.
            #[allow(unsafe_code)]
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}
