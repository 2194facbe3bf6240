//! The `keylab` binary.

use std::io::{self, IsTerminal as _, Write};
use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = match harness::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(&e),
    };
    init_logging(cli.verbose);
    let json = cli.json_output();
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
            if json {
                // A script reading stdout gets the error in the shape it parses; a person
                // watching stderr still sees it.
                let _ = writeln!(stdout, "{}", failure.to_json());
            }
            harness::status!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// Ends on a command line clap refused: in `--json` mode its first line goes to stdout as
/// a JSON error of kind `usage` too, then clap prints it (or the help asked for) as usual.
fn usage_error(e: &clap::Error) -> ! {
    use clap::error::ErrorKind as K;
    let shown = matches!(
        e.kind(),
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
    );
    if !shown && std::env::args_os().any(|a| a == "--json") {
        // The error paragraph, before the usage line: "error: ..." and any indented lines.
        let text = e.render().to_string();
        let paragraph: Vec<&str> = text
            .lines()
            .take_while(|l| !l.trim().is_empty())
            .map(str::trim)
            .collect();
        let joined = paragraph.join(" ");
        let message = joined.strip_prefix("error: ").unwrap_or(&joined);
        let _ = writeln!(
            std::io::stdout(),
            "{}",
            harness::failure::Failure::usage(message).to_json()
        );
    }
    e.exit()
}

/// Logs to stderr: `-v` (debug) and `-vv` (trace) for keylab's events; without `-v`,
/// `RUST_LOG` (`debug`, `harness=trace,info`, ...) when it is set; otherwise nothing.
/// Colour only when stderr is a terminal and `NO_COLOR` is unset.
fn init_logging(verbose: u8) {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = match verbose {
        0 => match std::env::var("RUST_LOG") {
            Ok(spec) if !spec.trim().is_empty() => match spec.parse::<Targets>() {
                Ok(targets) => targets,
                Err(e) => {
                    harness::status!("warning: RUST_LOG={spec:?} ignored: {e}");
                    return;
                }
            },
            _ => return,
        },
        1 => Targets::new().with_default(LevelFilter::DEBUG),
        _ => Targets::new().with_default(LevelFilter::TRACE),
    };
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        // A log line that cannot be written is dropped: no complaint on a closed stderr,
        // where tracing's own `eprintln!` would panic.
        .log_internal_errors(false)
        .with_max_level(LevelFilter::TRACE)
        .finish()
        .with(filter)
        .init();
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
