//! `keylab wsn sweep`: the table streamed row by row as the points finish, a progress
//! bar on stderr, and the SVG plot written atomically (or to stdout with `--plot -`).

use std::fmt::Write as _;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use predist::{Estimate, Scheme, SweepConfig, SweepEvent, Vary};

use super::{
    SchemeArg, SweepArgs, VaryArg, check_flags, distinct_schemes, json, scheme_of, seed_or_random,
    write_failure,
};
use crate::cmd::output::{check_output, is_stdio};
use crate::cmd::progress::Progress;
use crate::failure::Failure;

/// Runs `keylab wsn sweep`.
pub(super) fn run(args: &SweepArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let config = config_of(args)?;
    let plot = args.plot.as_deref();
    if let Some(path) = plot {
        check_plot(path, args)?;
    }
    let plot_to_stdout = plot.is_some_and(is_stdio);
    let result = {
        let mut stderr = std::io::stderr();
        let table: Option<&mut dyn Write> = match (args.json, plot_to_stdout) {
            (true, _) => None,
            (false, true) => Some(&mut stderr),
            (false, false) => Some(&mut *out),
        };
        run_streaming(&config, args, table)?
    };
    if args.json {
        out.write_all(json::sweep(&result).as_bytes())
            .map_err(write_failure)?;
    }
    if let Some(path) = plot {
        let svg = predist::plot::sweep_svg(&result).map_err(|e| Failure::input(e.to_string()))?;
        if plot_to_stdout {
            out.write_all(svg.as_bytes())
                .and_then(|()| out.flush())
                .map_err(write_failure)?;
        } else {
            pki::files::write_file(path, svg.as_bytes(), args.force, false).map_err(|e| {
                Failure::output(format!("writing the plot {}: {e}", path.display()))
            })?;
            crate::status!("plot written to {}", path.display());
        }
    }
    Ok(())
}

/// Runs the sweep, writing the table to `table` (when there is one) a row at a time as
/// the points finish, and the progress bar to stderr.
fn run_streaming(
    config: &SweepConfig,
    args: &SweepArgs,
    mut table: Option<&mut dyn Write>,
) -> Result<predist::Sweep, Failure> {
    let mut bar = Progress::new(args.progress);
    let series = config.schemes.len();
    let mut row: Vec<Estimate> = Vec::with_capacity(series);
    let mut failed = None;
    let threads = args.deployment.threads();
    let result = predist::sweep_on(config, threads, &mut |event| {
        let written = match event {
            SweepEvent::Started { schemes, total } => {
                let written = match table.as_deref_mut() {
                    Some(t) => write_now(t, &header(config, schemes), &mut bar),
                    None => Ok(()),
                };
                bar.update(0, total);
                written
            }
            SweepEvent::Point {
                series: i,
                point,
                done,
                total,
            } => {
                row.push(point.value);
                let mut written = Ok(());
                if i + 1 == series {
                    if let Some(t) = table.as_deref_mut() {
                        written = write_now(t, &row_text(point.x, &row), &mut bar);
                    }
                    row.clear();
                }
                bar.update(done, total);
                written
            }
        };
        match written {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        }
    });
    bar.clear();
    if let Some(e) = failed {
        return Err(write_failure(e));
    }
    result.map_err(|e| Failure::input(e.to_string()))
}

/// Writes `text` at once, the progress bar moved out of its way.
fn write_now(out: &mut dyn Write, text: &str, bar: &mut Progress) -> std::io::Result<()> {
    bar.clear();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The sweep's configuration, once the flags are checked.
fn config_of(args: &SweepArgs) -> Result<SweepConfig, Failure> {
    let d = &args.deployment;
    let schemes = distinct_schemes(&args.scheme)?;
    check_flags(&schemes, &d.keys, false)?;
    let vary = match args.vary {
        VaryArg::Ring => {
            if d.keys.ring.is_some() {
                return Err(Failure::input(
                    "--vary ring sets the ring size: drop --ring",
                ));
            }
            if schemes.contains(&SchemeArg::Blundo) {
                return Err(Failure::input(
                    "--vary ring does not apply to --scheme blundo (it stores a polynomial \
                     share of --degree + 1 elements, not a key ring)",
                ));
            }
            Vary::Ring
        }
        VaryArg::Capture => Vary::Capture,
    };
    Ok(SweepConfig {
        schemes: schemes
            .iter()
            .map(|&s| scheme_of(s, d, (vary == Vary::Ring).then_some(args.from)))
            .collect(),
        nodes: d.nodes,
        range: d.range,
        vary,
        from: args.from,
        to: args.to,
        step: args.step,
        seed: seed_or_random(d.seed),
    })
}

/// Refuses, before any work, a plot that cannot be written or would not be SVG: plots
/// are drawn as SVG only, so `--plot out.png` is refused rather than given SVG.
fn check_plot(path: &Path, args: &SweepArgs) -> Result<(), Failure> {
    if is_stdio(path) {
        if args.json {
            return Err(Failure::input(
                "--plot - and --json would both write to stdout: write the plot to a file",
            ));
        }
        return Ok(());
    }
    check_output(path, args.force)?;
    let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
    match extension {
        Some(e) if e.eq_ignore_ascii_case("svg") => Ok(()),
        other => {
            let not = other.map_or_else(String::new, |e| format!(", not {}", e.to_uppercase()));
            Err(Failure::output(format!(
                "{}: keylab draws plots in SVG only{not}; name the file FILE.svg, or - for \
                 stdout",
                path.display()
            )))
        }
    }
}

/// What the table shows, its series and its column headings.
fn header(c: &SweepConfig, schemes: &[Scheme]) -> String {
    let mut s = String::new();
    let (what, x) = match c.vary {
        Vary::Ring => ("local connectivity against ring size", "ring"),
        Vary::Capture => ("compromised fraction against captured nodes", "captured"),
    };
    let range = c
        .range
        .map_or_else(|| "no range limit".to_owned(), |r| format!("range {r}"));
    let _ = writeln!(s, "{what}: {} nodes, {range}, seed {}", c.nodes, c.seed);
    for scheme in schemes {
        let label = predist::plot::series_label(scheme, c.vary);
        let _ = writeln!(s, "  {}: {label}", scheme.name());
    }
    let _ = write!(s, "\n{x:>9}");
    for scheme in schemes {
        let name = scheme.name();
        let _ = write!(
            s,
            "{:>22}{:>22}",
            format!("{name} measured"),
            format!("{name} analytic")
        );
    }
    let _ = writeln!(s);
    s
}

/// One row of the table: `x`, then each series' measured and analytic value.
fn row_text(x: u32, values: &[Estimate]) -> String {
    let f = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
    let mut s = format!("{x:>9}");
    for value in values {
        let _ = write!(s, "{:>22}{:>22}", f(value.measured), f(value.analytic));
    }
    s.push('\n');
    s
}
