//! A one-line progress bar on stderr for long-running commands (`keylab wsn sweep`).

use std::io::IsTerminal;

/// A one-line progress bar on stderr, drawn only when stderr is a terminal (so pipes,
/// logs and tests see nothing) and only for runs of more than a few steps.
pub(crate) struct Progress {
    shown: bool,
    enabled: bool,
}

impl Progress {
    pub(crate) fn new() -> Self {
        Self {
            shown: false,
            enabled: std::io::stderr().is_terminal(),
        }
    }

    pub(crate) fn update(&mut self, done: usize, total: usize) {
        if !self.enabled || total < 4 {
            return;
        }
        const WIDTH: usize = 30;
        let filled = WIDTH * done / total.max(1);
        eprint!(
            "\r[{}{}] {done}/{total} points",
            "#".repeat(filled),
            " ".repeat(WIDTH - filled)
        );
        self.shown = true;
    }

    pub(crate) fn finish(&mut self) {
        if self.shown {
            eprint!("\r{}\r", " ".repeat(50));
        }
    }
}
