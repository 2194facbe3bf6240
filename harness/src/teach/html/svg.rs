//! The page's diagrams, drawn as inline SVG by keylab itself (no graphviz at run time): the
//! message sequence, the two state machines with this run's path highlighted, and the key
//! schedule.

use std::fmt::Write as _;

use handshake::states::{self, Transition};

use super::{epoch, esc};
use crate::teach::model::{RunExplanation, Step, ValueStep};

const WIDTH: usize = 640;
const LANE: usize = 90;
const ROW: usize = 30;

/// One arrow per record between the client and server lanes, coloured by the keys that
/// protect it; the label names the messages it carries.
pub(super) fn sequence(h: &mut String, run: &RunExplanation) {
    let records: Vec<_> = run
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Record(r) => Some(r),
            _ => None,
        })
        .collect();
    if records.is_empty() {
        return;
    }
    let height = 50 + ROW * records.len();
    let (left, right) = (LANE, WIDTH - LANE);
    let _ = write!(
        h,
        "<figure><figcaption>Message sequence: one arrow per record</figcaption>\n\
         <svg viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" role=\"img\" \
         aria-label=\"records between client and server\">\n\
         <defs><marker id=\"arrow-{n}\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" \
         markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker></defs>\n\
         <text x=\"{left}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">client</text>\
         <text x=\"{right}\" y=\"16\" text-anchor=\"middle\" font-weight=\"bold\">server</text>\n\
         <line x1=\"{left}\" y1=\"24\" x2=\"{left}\" y2=\"{height}\" stroke=\"#9ca3af\"/>\
         <line x1=\"{right}\" y1=\"24\" x2=\"{right}\" y2=\"{height}\" stroke=\"#9ca3af\"/>\n",
        n = run.number
    );
    for (i, r) in records.iter().enumerate() {
        let y = 48 + ROW * i;
        let class = epoch(r.protection.as_ref().map(|p| p.secret_label.as_str()));
        let colour = match class {
            "plain" => "var(--plain)",
            "hs" => "var(--hs)",
            _ => "var(--app)",
        };
        let (x1, x2) = if r.from_client {
            (left, right)
        } else {
            (right, left)
        };
        let label = if r.carries.is_empty() {
            r.title.clone()
        } else {
            r.carries.join(", ")
        };
        let _ = writeln!(
            h,
            "<g class=\"arrow {class}\" data-record=\"{}\"><title>record {}: {}</title>\
             <line x1=\"{x1}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"{colour}\" \
             stroke-width=\"2\" marker-end=\"url(#arrow-{})\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{colour}\">{}: {}</text></g>",
            r.number,
            r.number,
            esc(&r.title),
            run.number,
            WIDTH / 2,
            y - 5,
            r.number,
            esc(&label)
        );
    }
    h.push_str("</svg></figure>\n");
}

/// Both machines of RFC 8446 Appendix A, the states and transitions this run took
/// highlighted.
pub(super) fn states(h: &mut String, run: &RunExplanation) {
    h.push_str(
        "<figure><figcaption>State machines (RFC 8446 Appendix A); this run's states and \
         transitions highlighted</figcaption>\n<div class=\"pair\">\n",
    );
    machine(
        h,
        "client",
        &states::CLIENT_STATES.map(|s| s.name()),
        &states::CLIENT_TRANSITIONS,
        &run.client_transitions,
    );
    machine(
        h,
        "server",
        &states::SERVER_STATES.map(|s| s.name()),
        &states::SERVER_TRANSITIONS,
        &run.server_transitions,
    );
    h.push_str("</div></figure>\n");
}

fn machine<S: std::fmt::Display>(
    h: &mut String,
    side: &str,
    names: &[&str],
    table: &[Transition<S>],
    taken: &[(String, String)],
) {
    const BOX_W: usize = 150;
    const BOX_H: usize = 24;
    const GAP: usize = 16;
    let y_of = |name: &str| {
        names
            .iter()
            .position(|n| *n == name)
            .map(|i| 30 + i * (BOX_H + GAP))
    };
    let height = 30 + names.len() * (BOX_H + GAP);
    let visited = |name: &str| taken.iter().any(|(a, b)| a == name || b == name);
    let _ = write!(
        h,
        "<div><svg viewBox=\"0 0 340 {height}\" width=\"340\" role=\"img\" \
         aria-label=\"{side} state machine\">\n<text x=\"10\" y=\"16\" \
         font-weight=\"bold\">{side}</text>\n"
    );
    for t in table {
        let (from, to) = (t.from.to_string(), t.to.to_string());
        let (Some(y1), Some(y2)) = (y_of(&from), y_of(&to)) else {
            continue;
        };
        let was_taken = taken.iter().any(|(a, b)| *a == from && *b == to);
        let bend = 10 + BOX_W + 20 + 12 * (y1.abs_diff(y2) / (BOX_H + GAP));
        let (a, b) = (y1 + BOX_H / 2, y2 + BOX_H / 2);
        let (stroke, width) = if was_taken {
            ("var(--hs)", 3)
        } else {
            ("#9ca3af", 1)
        };
        let _ = writeln!(
            h,
            "<path class=\"{}\" d=\"M{x},{a} C{bend},{a} {bend},{b} {x},{b}\" fill=\"none\" \
             stroke=\"{stroke}\" stroke-width=\"{width}\"><title>{} -> {} on {}</title></path>",
            if was_taken { "taken" } else { "untaken" },
            esc(&from),
            esc(&to),
            esc(t.on),
            x = 10 + BOX_W
        );
    }
    for name in names {
        let Some(y) = y_of(name) else { continue };
        let class = if visited(name) { "hl" } else { "" };
        let _ = writeln!(
            h,
            "<g class=\"{class}\"><rect class=\"state\" x=\"10\" y=\"{y}\" width=\"{BOX_W}\" \
             height=\"{BOX_H}\" rx=\"4\" fill=\"#fff\" stroke=\"#6b7280\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            10 + BOX_W / 2,
            y + 16,
            esc(name)
        );
    }
    h.push_str("</svg></div>\n");
}

/// The key schedule: each value a node with its name and the start of its value; an
/// extracted secret (Early, Handshake, Master) starts the left column, values derived from
/// it stand to its right, with an edge from each input that is itself a node.
pub(super) fn key_schedule(h: &mut String, run: &RunExplanation) {
    let values: Vec<&ValueStep> = run
        .steps
        .iter()
        .filter_map(|s| match s {
            Step::Value(v) => Some(v),
            _ => None,
        })
        .collect();
    if values.is_empty() {
        return;
    }
    const NODE_W: usize = 300;
    const NODE_H: usize = 34;
    let mut column = Vec::with_capacity(values.len());
    for v in &values {
        let parent = v
            .inputs
            .iter()
            .filter_map(|i| values.iter().position(|p| p.name == i.name))
            .filter_map(|p| column.get(p).copied())
            .max();
        let col = if v.formula.starts_with("HKDF-Extract") {
            0
        } else {
            parent.map_or(0, |p: usize| (p + 1).min(2))
        };
        column.push(col);
    }
    let height = 20 + values.len() * (NODE_H + 8);
    let width = 20 + 3 * (NODE_W + 20);
    let _ = writeln!(
        h,
        "<figure><figcaption>Key schedule (RFC 8446 §7.1): Early → Handshake → Master \
         secret, each derived value beside what it comes from</figcaption>\n\
         <svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" role=\"img\" \
         aria-label=\"key schedule\">"
    );
    let pos = |i: usize| (10 + column[i] * (NODE_W + 20), 10 + i * (NODE_H + 8));
    for (i, v) in values.iter().enumerate() {
        for input in &v.inputs {
            if let Some(p) = values.iter().position(|x| x.name == input.name) {
                let ((x1, y1), (x2, y2)) = (pos(p), pos(i));
                let _ = writeln!(
                    h,
                    "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9ca3af\"/>",
                    x1 + 8,
                    y1 + NODE_H,
                    x2,
                    y2 + NODE_H / 2
                );
            }
        }
    }
    for (i, v) in values.iter().enumerate() {
        let (x, y) = pos(i);
        let fill = if v.private { "#fee2e2" } else { "#eff6ff" };
        let short: String = v.value.chars().take(16).collect();
        let _ = writeln!(
            h,
            "<g><title>{} = {}</title><rect x=\"{x}\" y=\"{y}\" width=\"{NODE_W}\" \
             height=\"{NODE_H}\" rx=\"4\" fill=\"{fill}\" stroke=\"#6b7280\"/>\
             <text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\" \
             font-family=\"monospace\">{short}…</text></g>",
            esc(&v.name),
            esc(&v.formula),
            x + 6,
            y + 14,
            esc(&v.name),
            x + 6,
            y + 28
        );
    }
    h.push_str("</svg></figure>\n");
}
