//! The `keylab` binary.

use std::io::{self, IsTerminal as _, Write};
use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = harness::cli::Cli::parse();
    if cli.verbose > 0 {
        let level = if cli.verbose > 1 {
            tracing::Level::TRACE
        } else {
            tracing::Level::DEBUG
        };
        // Colour only when stderr is a terminal and NO_COLOR is unset.
        let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .with_ansi(colour)
            .init();
    }
    let mut stdout = PipeAware {
        inner: std::io::stdout().lock(),
        closed: false,
    };
    let result = harness::cli::run(cli, &mut stdout);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`keylab demo --explain | head`): nothing is wrong, and
        // nobody is left to tell. End quietly, as ripgrep and friends do.
        Err(_) if stdout.closed => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Standard output that remembers whether its reader closed the pipe.
struct PipeAware<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> Write for PipeAware<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| self.note(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().inspect_err(|e| self.note(e))
    }
}

impl<W> PipeAware<W> {
    fn note(&mut self, e: &io::Error) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            self.closed = true;
        }
    }
}
