//! The `--json` shapes of `keylab wsn simulate` and `keylab wsn sweep` (documented in the
//! README), as serde views over the [`predist`] reports.

use predist::{Estimate, Report, Scheme, Sweep, Vary};
use serde::Serialize;

/// A scheme's name and its parameters, flattened into the enclosing object.
#[derive(Serialize)]
struct SchemeJson {
    scheme: &'static str,
    #[serde(flatten)]
    params: Params,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Params {
    Eg { pool: u32, ring: u32 },
    QComposite { pool: u32, ring: u32, q: u32 },
    Blundo { degree: u32 },
}

impl From<&Scheme> for SchemeJson {
    fn from(scheme: &Scheme) -> Self {
        let params = match *scheme {
            Scheme::Eg { pool, ring } => Params::Eg { pool, ring },
            Scheme::QComposite { pool, ring, q } => Params::QComposite { pool, ring, q },
            Scheme::Blundo { degree } => Params::Blundo { degree },
        };
        Self {
            scheme: scheme.name(),
            params,
        }
    }
}

#[derive(Serialize)]
struct EstimateJson {
    measured: Option<f64>,
    analytic: Option<f64>,
}

impl From<&Estimate> for EstimateJson {
    fn from(e: &Estimate) -> Self {
        Self {
            measured: e.measured,
            analytic: e.analytic,
        }
    }
}

#[derive(Serialize)]
struct ReportJson {
    #[serde(flatten)]
    scheme: SchemeJson,
    nodes: u32,
    range: Option<f64>,
    seed: u64,
    keys_per_node: u32,
    neighbour_pairs: u64,
    mean_degree: f64,
    links: u64,
    local_connectivity: EstimateJson,
    largest_component_fraction: f64,
    path_keys: PathKeysJson,
    #[serde(flatten)]
    capture: Option<CaptureJson>,
}

#[derive(Serialize)]
struct PathKeysJson {
    unsecured_pairs: u64,
    examined: u64,
    two_hops: u64,
    three_hops: u64,
    not_within_three_hops: u64,
}

#[derive(Serialize)]
struct CaptureJson {
    captured: u32,
    links_between_uncaptured: u64,
    compromised_links: u64,
    compromised_fraction: EstimateJson,
}

/// `keylab wsn simulate --json`: one object on one line.
pub fn report(r: &Report) -> String {
    let c = &r.config;
    let pk = &r.path_keys;
    let view = ReportJson {
        scheme: (&c.scheme).into(),
        nodes: c.nodes,
        range: c.range,
        seed: c.seed,
        keys_per_node: r.keys_per_node,
        neighbour_pairs: r.neighbour_pairs,
        mean_degree: r.mean_degree,
        links: r.links,
        local_connectivity: (&r.local_connectivity).into(),
        largest_component_fraction: r.largest_component_fraction,
        path_keys: PathKeysJson {
            unsecured_pairs: pk.unsecured_pairs,
            examined: pk.examined,
            two_hops: pk.two_hops,
            three_hops: pk.three_hops,
            not_within_three_hops: pk.beyond,
        },
        capture: r.capture.as_ref().map(|cap| CaptureJson {
            captured: cap.captured,
            links_between_uncaptured: cap.links,
            compromised_links: cap.compromised,
            compromised_fraction: (&cap.fraction).into(),
        }),
    };
    compact(&view)
}

#[derive(Serialize)]
struct SweepJson {
    vary: &'static str,
    nodes: u32,
    range: Option<f64>,
    seed: u64,
    series: Vec<SeriesJson>,
}

#[derive(Serialize)]
struct SeriesJson {
    #[serde(flatten)]
    scheme: SchemeJson,
    points: Vec<PointJson>,
}

#[derive(Serialize)]
struct PointJson {
    x: u32,
    measured: Option<f64>,
    analytic: Option<f64>,
}

/// `keylab wsn sweep --json`: one object on one line.
pub fn sweep(sweep: &Sweep) -> String {
    let c = &sweep.config;
    let view = SweepJson {
        vary: match c.vary {
            Vary::Ring => "ring",
            Vary::Capture => "capture",
        },
        nodes: c.nodes,
        range: c.range,
        seed: c.seed,
        series: sweep
            .series
            .iter()
            .map(|series| SeriesJson {
                scheme: (&series.scheme).into(),
                points: series
                    .points
                    .iter()
                    .map(|p| PointJson {
                        x: p.x,
                        measured: p.value.measured,
                        analytic: p.value.analytic,
                    })
                    .collect(),
            })
            .collect(),
    };
    compact(&view)
}

/// One line of JSON and a newline.
pub fn compact(value: &impl Serialize) -> String {
    // Serializing these plain structs cannot fail: no maps with non-string keys.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    text.push('\n');
    text
}
