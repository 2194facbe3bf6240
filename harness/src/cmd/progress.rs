//! A one-line progress bar on stderr for long-running commands (`keylab wsn sweep`): how
//! many steps are done, the time taken and an estimate of the time left.

use std::io::{IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use clap::ValueEnum;

/// When to draw the progress bar (`--progress`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum When {
    /// When stderr is a terminal.
    #[default]
    Auto,
    /// Always, even when stderr is a file or a pipe.
    Always,
    /// Never.
    Never,
}

/// A one-line progress bar on stderr. With [`When::Auto`] it is drawn only when stderr is
/// a terminal, so pipes, logs and tests see nothing.
pub(crate) struct Progress {
    enabled: bool,
    started: Instant,
    /// Characters of the line drawn last (0: nothing on screen).
    drawn: usize,
}

const WIDTH: usize = 30;

impl Progress {
    pub(crate) fn new(when: When) -> Self {
        let enabled = match when {
            When::Auto => std::io::stderr().is_terminal(),
            When::Always => true,
            When::Never => false,
        };
        Self {
            enabled,
            started: Instant::now(),
            drawn: 0,
        }
    }

    /// Draws `done` of `total` steps; from the first step done on, with an estimate of the
    /// time left (the mean time per step so far, times the steps left).
    pub(crate) fn update(&mut self, done: usize, total: usize) {
        if !self.enabled {
            return;
        }
        let elapsed = self.started.elapsed();
        let line = line(done, total, elapsed);
        let pad = self.drawn.saturating_sub(line.chars().count());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}{}", " ".repeat(pad));
        let _ = err.flush();
        self.drawn = line.chars().count();
    }

    /// Erases the bar, so that a line can be printed where it was (the next
    /// [`update`](Self::update) draws it again below).
    pub(crate) fn clear(&mut self) {
        if self.drawn > 0 {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r{}\r", " ".repeat(self.drawn));
            let _ = err.flush();
            self.drawn = 0;
        }
    }
}

impl Drop for Progress {
    /// The bar never outlives the command, whether it ends well or not.
    fn drop(&mut self) {
        self.clear();
    }
}

/// `[#####     ] 3/20 points, 4s elapsed, about 23s left`.
fn line(done: usize, total: usize, elapsed: Duration) -> String {
    let total = total.max(1);
    let done = done.min(total);
    let filled = WIDTH * done / total;
    let mut line = format!(
        "[{}{}] {done}/{total} points, {} elapsed",
        "#".repeat(filled),
        " ".repeat(WIDTH - filled),
        clock(elapsed)
    );
    if done > 0 && done < total {
        let left = elapsed.mul_f64((total - done) as f64 / done as f64);
        line.push_str(&format!(", about {} left", clock(left)));
    }
    line
}

/// `42s`, `3m05s`, `2h07m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_estimates_the_time_left_from_the_steps_done() {
        let second = Duration::from_secs(1);
        assert_eq!(
            line(0, 4, second * 2),
            format!("[{}] 0/4 points, 2s elapsed", " ".repeat(WIDTH))
        );
        // One step in 10 s, three to go: about 30 s.
        assert!(line(1, 4, second * 10).ends_with("1/4 points, 10s elapsed, about 30s left"));
        assert!(line(4, 4, second * 40).ends_with("4/4 points, 40s elapsed"));
        assert_eq!(clock(second * 185), "3m05s");
        assert_eq!(clock(second * 7620), "2h07m");
    }
}
