//! SVG plots of a sweep: the analytic curve of each scheme as a line, the simulated points
//! as circles on top of it.
//!
//! Drawn with plotters' SVG backend and no font library: text goes into the SVG as
//! `<text font-family="sans-serif">` and the viewer picks the font.

use plotters::prelude::*;

use crate::error::Error;
use crate::scheme::Scheme;
use crate::sweep::{Sweep, Vary};

/// Width and height of the plot in pixels.
pub const SIZE: (u32, u32) = (900, 540);

/// Line colours, one per series (colour-blind-safe Okabe–Ito palette).
const PALETTE: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// Renders `sweep` as an SVG document.
pub fn sweep_svg(sweep: &Sweep) -> Result<String, Error> {
    let mut svg = String::new();
    draw(sweep, &mut svg).map_err(|e| Error::Plot(e.to_string()))?;
    Ok(svg)
}

fn draw(sweep: &Sweep, svg: &mut String) -> Result<(), Box<dyn std::error::Error>> {
    let config = &sweep.config;
    let (title, x_desc, y_desc) = match config.vary {
        Vary::Ring => (
            "Connection probability against key ring size",
            "keys per node (ring size k)",
            "P(neighbours share enough keys)",
        ),
        Vary::Capture => (
            "Links exposed by captured nodes",
            "captured nodes x",
            "fraction of other links compromised",
        ),
    };
    let range = match config.range {
        Some(r) => format!("range {r}"),
        None => "every pair in range".to_owned(),
    };
    let subtitle = format!(
        "{} nodes, {range}, seed {}; lines: analysis, circles: simulation",
        config.nodes, config.seed
    );
    let (x0, x1) = (
        f64::from(config.from),
        f64::from(config.to.max(config.from + 1)),
    );
    let pad = (x1 - x0) * 0.02;

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, body) = root.split_vertically(64);
    top.draw(&Text::new(title, (60, 10), ("sans-serif", 24).into_font()))?;
    top.draw(&Text::new(
        subtitle,
        (60, 40),
        ("sans-serif", 15).into_font().color(&RGBColor(90, 90, 90)),
    ))?;
    let mut chart = ChartBuilder::on(&body)
        .margin_left(12)
        .margin_right(28)
        .margin_bottom(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d((x0 - pad)..(x1 + pad), -0.02f64..1.02)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .axis_desc_style(("sans-serif", 16))
        .label_style(("sans-serif", 14))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;

    for (i, series) in sweep.series.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let label = series_label(&series.scheme, config.vary);
        chart
            .draw_series(LineSeries::new(
                series.curve.iter().map(|&(x, y)| (f64::from(x), y)),
                color.stroke_width(2),
            ))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(3))
            });
        chart.draw_series(series.points.iter().filter_map(|p| {
            let y = p.value.measured?;
            Some(Circle::new((f64::from(p.x), y), 5, color.stroke_width(2)))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(160, 160, 160))
        .draw()?;
    root.present()?;
    Ok(())
}

/// The name of a series: in a ring sweep the ring varies, so the label names only what
/// stays fixed (`q-composite (pool 10000, q 2)`).
pub fn series_label(scheme: &Scheme, vary: Vary) -> String {
    match (vary, *scheme) {
        (Vary::Ring, Scheme::Eg { pool, .. }) => format!("Eschenauer–Gligor (pool {pool})"),
        (Vary::Ring, Scheme::QComposite { pool, q, .. }) => {
            format!("q-composite (pool {pool}, q {q})")
        }
        _ => scheme.describe(),
    }
}
