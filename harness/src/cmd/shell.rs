//! `keylab completions SHELL` and `keylab manpage`: shell completion scripts and manual
//! pages generated from the same clap definitions as `--help`, so they never disagree.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, CommandFactory as _, ValueEnum};

use crate::cli::Cli;
use crate::failure::Failure;

/// Shells `keylab completions` writes a script for.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Shell {
    /// Bash: `source <(keylab completions bash)`.
    Bash,
    /// Zsh: write `_keylab` into a directory of `$fpath`.
    Zsh,
    /// Fish: write `keylab.fish` into `~/.config/fish/completions`.
    Fish,
}

/// `keylab completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// `keylab manpage`
#[derive(Debug, Args)]
pub struct ManpageArgs {
    /// Write keylab.1 and one page per subcommand (keylab-pki-issue.1, ...) into DIR
    /// (created if missing) instead of printing keylab.1 on stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Prints the completion script for `args.shell` on `out`.
pub fn completions(args: &CompletionsArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "keylab", &mut script);
    out.write_all(&script).map_err(write_failure)
}

/// Prints keylab.1 on `out`, or writes every page into `args.dir`.
pub fn manpage(args: &ManpageArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let command = Cli::command();
    match &args.dir {
        None => clap_mangen::Man::new(command)
            .render(out)
            .map_err(write_failure),
        Some(dir) => {
            // Created when missing (`~/.local/share/man/man1` on a fresh account).
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::output(format!("creating {}: {e}", dir.display())))?;
            clap_mangen::generate_to(command, dir)
                .map_err(|e| Failure::output(format!("writing into {}: {e}", dir.display())))?;
            crate::status!("manual pages written to {}", dir.display());
            Ok(())
        }
    }
}

fn write_failure(e: std::io::Error) -> Failure {
    Failure::output(format!("writing to stdout: {e}"))
}
