//! The client and server state machines of RFC 8446 Appendix A as one diagram, from the
//! handshake crate's own tables ([`handshake::states`]), optionally with the states and
//! transitions one connection took highlighted.
//!
//! [`Diagram`] is plain data (serializable, for any renderer); [`Diagram::to_dot`] writes
//! it as a single Graphviz digraph: the two machines as `cluster_client` and
//! `cluster_server`, and a `cluster_legend` whose table explains every colour and style
//! the diagram uses.
//!
//! ```
//! use harness::states_diagram::Diagram;
//!
//! let dot = Diagram::tables().to_dot();
//! assert_eq!(dot.matches("digraph ").count(), 1);
//! assert!(dot.contains("subgraph cluster_client {") && dot.contains("subgraph cluster_legend {"));
//! ```

use std::fmt::Write as _;

use handshake::Path;
use handshake::states::{self, Transition};
use serde::Serialize;

/// Both machines, and whether a run is highlighted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagram {
    /// The client's machine, then the server's.
    pub machines: [Machine; 2],
    /// The run whose states and transitions are highlighted (e.g. `"hrr"`), if any.
    pub run: Option<String>,
}

/// One side's machine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Machine {
    /// `"client"` or `"server"`.
    pub side: &'static str,
    /// A heading naming the RFC section.
    pub title: &'static str,
    /// The states, in the order of a handshake.
    pub states: Vec<State>,
    /// The transitions, in the table's order.
    pub arrows: Vec<Arrow>,
}

/// One state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct State {
    /// The RFC 8446 Appendix A name (`WAIT_SH`).
    pub name: &'static str,
    /// Whether the highlighted run was in this state.
    pub visited: bool,
}

/// One transition.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Arrow {
    /// State before.
    pub from: &'static str,
    /// State after.
    pub to: &'static str,
    /// What causes it ("recv ServerHello").
    pub on: &'static str,
    /// Which paths take it.
    pub kind: ArrowKind,
    /// When the highlighted run took it: 1-based positions among that side's transitions
    /// (an arrow taken twice, as `recv ClientHello` after a HelloRetryRequest, has two).
    pub steps: Vec<usize>,
}

impl Arrow {
    /// Whether the highlighted run took this transition.
    pub fn visited(&self) -> bool {
        !self.steps.is_empty()
    }
}

/// Which paths a transition belongs to (its colour in the diagram).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArrowKind {
    /// Every path can take it.
    Every,
    /// Only the ephemeral-dh path (the client stays anonymous).
    EphemeralDh,
    /// Only the certificate path (the client authenticates with its certificate).
    Certificate,
    /// Only the PSK paths (psk, psk+dhe, resumption, resumption+dhe).
    Psk,
}

impl ArrowKind {
    fn of(path: Option<Path>) -> Self {
        match path {
            None => ArrowKind::Every,
            Some(Path::Certificate) => ArrowKind::Certificate,
            Some(p) if p.uses_psk() => ArrowKind::Psk,
            Some(_) => ArrowKind::EphemeralDh,
        }
    }

    /// Whether a connection on `path` can take an arrow of this kind.
    fn applies_to(self, path: Path) -> bool {
        match self {
            ArrowKind::Every => true,
            ArrowKind::EphemeralDh => path == Path::EphemeralDh,
            ArrowKind::Certificate => path == Path::Certificate,
            ArrowKind::Psk => path.uses_psk(),
        }
    }

    /// The Graphviz colour.
    fn colour(self) -> &'static str {
        match self {
            ArrowKind::Every => "black",
            ArrowKind::EphemeralDh => "darkgreen",
            ArrowKind::Certificate => "blue",
            ArrowKind::Psk => "darkorange",
        }
    }

    fn meaning(self) -> &'static str {
        match self {
            ArrowKind::Every => {
                "transition not tied to one path (the HelloRetryRequest arrows only when the server asks again)"
            }
            ArrowKind::EphemeralDh => "ephemeral-dh path only (anonymous client)",
            ArrowKind::Certificate => "certificate path only (client certificate)",
            ArrowKind::Psk => "PSK paths only (psk, psk+dhe, resumption, resumption+dhe)",
        }
    }

    const ALL: [ArrowKind; 4] = [
        ArrowKind::Every,
        ArrowKind::EphemeralDh,
        ArrowKind::Certificate,
        ArrowKind::Psk,
    ];
}

/// Colour of a visited state's fill.
const VISITED_FILL: &str = "lightgoldenrod1";
/// Colour of states the highlighted run did not visit.
const UNVISITED_GREY: &str = "gray55";

fn machine<S: Copy>(
    side: &'static str,
    title: &'static str,
    names: &[S],
    table: &[Transition<S>],
    name: fn(S) -> &'static str,
) -> Machine {
    Machine {
        side,
        title,
        states: names
            .iter()
            .map(|s| State {
                name: name(*s),
                visited: false,
            })
            .collect(),
        arrows: table
            .iter()
            .map(|t| Arrow {
                from: name(t.from),
                to: name(t.to),
                on: t.on,
                kind: ArrowKind::of(t.path),
                steps: Vec::new(),
            })
            .collect(),
    }
}

impl Diagram {
    /// The two machines of the handshake crate's tables, nothing highlighted.
    pub fn tables() -> Self {
        Self {
            machines: [
                machine(
                    "client",
                    "client (RFC 8446 Appendix A.1)",
                    &states::CLIENT_STATES,
                    &states::CLIENT_TRANSITIONS,
                    states::ClientState::name,
                ),
                machine(
                    "server",
                    "server (RFC 8446 Appendix A.2)",
                    &states::SERVER_STATES,
                    &states::SERVER_TRANSITIONS,
                    states::ServerState::name,
                ),
            ],
            run: None,
        }
    }

    /// The tables with one connection highlighted: `client` and `server` are the
    /// transitions each side reported, in order (`Observed::transitions`), and `path` the
    /// path it took, which tells apart two arrows between the same states (the server's
    /// NEGOTIATED → WAIT_FLIGHT2 differs on the PSK paths). Transitions the tables do not
    /// list (into `CLOSED` when a connection fails) are left out. `run` names the run.
    pub fn of_run(
        run: &str,
        client: &[(String, String)],
        server: &[(String, String)],
        path: Path,
    ) -> Self {
        let mut diagram = Self::tables();
        diagram.run = Some(run.to_owned());
        let [c, s] = &mut diagram.machines;
        c.highlight(client, path);
        s.highlight(server, path);
        diagram
    }

    /// One Graphviz digraph: `cluster_client`, `cluster_server` and `cluster_legend`.
    pub fn to_dot(&self) -> String {
        let highlighted = self.run.is_some();
        let mut out = String::from("digraph keylab_states {\n");
        let title = match &self.run {
            Some(run) => {
                format!("TLS 1.3 state machines (RFC 8446 Appendix A), run {run} highlighted")
            }
            None => "TLS 1.3 state machines (RFC 8446 Appendix A)".to_owned(),
        };
        let _ = writeln!(out, "  label={};\n  labelloc=t;", quote(&title));
        out.push_str("  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n");
        out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
        for m in &self.machines {
            m.write_dot(&mut out, highlighted);
        }
        self.write_legend(&mut out, highlighted);
        out.push_str("}\n");
        out
    }

    fn write_legend(&self, out: &mut String, highlighted: bool) {
        let row = |sample: &str, meaning: &str| {
            format!(
                "<TR><TD>{sample}</TD><TD ALIGN=\"LEFT\">{}</TD></TR>",
                html(meaning)
            )
        };
        let mut rows = Vec::new();
        for kind in ArrowKind::ALL {
            if self
                .machines
                .iter()
                .any(|m| m.arrows.iter().any(|a| a.kind == kind))
            {
                rows.push(row(
                    &format!(
                        "<FONT COLOR=\"{}\">&#8212;&#8212;&gt;</FONT>",
                        kind.colour()
                    ),
                    kind.meaning(),
                ));
            }
        }
        if highlighted {
            rows.push(row(
                "<B>&#8212;&#8212;&gt;</B> n:",
                "thick: taken by this run; n is the step (the order of that side's transitions)",
            ));
            rows.push(row("- - -&gt;", "dashed: not taken by this run"));
            rows.push(row(
                &format!("<TABLE BORDER=\"1\" CELLBORDER=\"0\" BGCOLOR=\"{VISITED_FILL}\"><TR><TD>STATE</TD></TR></TABLE>"),
                "filled: a state this run was in",
            ));
            rows.push(row(
                &format!("<FONT COLOR=\"{UNVISITED_GREY}\">STATE</FONT>"),
                "grey: a state this run never reached",
            ));
        }
        out.push_str("  subgraph cluster_legend {\n    label=\"legend\";\n");
        let _ = writeln!(
            out,
            "    legend [shape=plaintext, label=<<TABLE BORDER=\"0\" CELLSPACING=\"2\">{}</TABLE>>];",
            rows.concat()
        );
        out.push_str("  }\n");
    }
}

impl Machine {
    fn highlight(&mut self, taken: &[(String, String)], path: Path) {
        for (step, (from, to)) in taken.iter().enumerate() {
            let matching = |a: &&mut Arrow| a.from == from && a.to == to;
            // The arrow meant for this path: a path-specific one before one for every path.
            let best = self
                .arrows
                .iter_mut()
                .filter(matching)
                .filter(|a| a.kind.applies_to(path))
                .min_by_key(|a| a.kind == ArrowKind::Every);
            let chosen = match best {
                Some(a) => Some(a),
                None => self.arrows.iter_mut().find(matching),
            };
            let Some(arrow) = chosen else { continue };
            arrow.steps.push(step + 1);
            for state in &mut self.states {
                if state.name == from || state.name == to {
                    state.visited = true;
                }
            }
        }
    }

    /// The node id of a state: the side's prefix keeps the two machines' `START`s apart.
    fn node(&self, state: &str) -> String {
        quote(&format!("{}_{state}", self.side))
    }

    fn write_dot(&self, out: &mut String, highlighted: bool) {
        let _ = writeln!(
            out,
            "  subgraph cluster_{} {{\n    label={};",
            self.side,
            quote(self.title)
        );
        for s in &self.states {
            let style = match (highlighted, s.visited) {
                (false, _) => String::new(),
                (true, true) => {
                    format!(", style=\"filled,bold\", fillcolor={VISITED_FILL}")
                }
                (true, false) => format!(", color={UNVISITED_GREY}, fontcolor={UNVISITED_GREY}"),
            };
            let _ = writeln!(
                out,
                "    {} [label={}{style}];",
                self.node(s.name),
                quote(s.name)
            );
        }
        for a in &self.arrows {
            let steps: Vec<String> = a.steps.iter().map(ToString::to_string).collect();
            let label = if a.visited() {
                format!("{}: {}", steps.join(", "), a.on)
            } else {
                a.on.to_owned()
            };
            let style = match (highlighted, a.visited()) {
                (false, _) => "",
                (true, true) => ", penwidth=3",
                (true, false) => ", style=dashed",
            };
            let _ = writeln!(
                out,
                "    {} -> {} [label={}, color={}, fontcolor={}{style}];",
                self.node(a.from),
                self.node(a.to),
                quote(&label),
                a.kind.colour(),
                a.kind.colour()
            );
        }
        out.push_str("  }\n");
    }
}

/// A DOT double-quoted string.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Text for a Graphviz HTML-like label.
fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn one_digraph_with_both_clusters_and_a_legend_for_every_colour() {
        let dot = Diagram::tables().to_dot();
        assert_eq!(dot.matches("digraph").count(), 1, "{dot}");
        assert!(dot.contains("subgraph cluster_client {"));
        assert!(dot.contains("subgraph cluster_server {"));
        assert!(dot.contains("subgraph cluster_legend {"));
        for colour in ["black", "darkgreen", "blue", "darkorange"] {
            assert!(dot.contains(&format!("color={colour}")), "{colour}");
            assert!(
                dot.contains(&format!("<FONT COLOR=\"{colour}\">")),
                "{colour} has no legend entry"
            );
        }
        assert!(!dot.contains("penwidth") && !dot.contains("dashed"));
        assert!(dot.contains("\"client_WAIT_CV\" -> \"client_WAIT_FINISHED\""));
    }

    #[test]
    fn a_run_highlights_the_arrow_of_its_path() {
        let server = pairs(&[
            ("START", "RECVD_CH"),
            ("RECVD_CH", "NEGOTIATED"),
            ("NEGOTIATED", "WAIT_FLIGHT2"),
            ("WAIT_FLIGHT2", "WAIT_FINISHED"),
            ("WAIT_FINISHED", "CONNECTED"),
            ("CONNECTED", "CLOSED"),
        ]);
        let d = Diagram::of_run("psk", &[], &server, Path::Psk);
        let taken: Vec<&Arrow> = d.machines[1]
            .arrows
            .iter()
            .filter(|a| a.visited())
            .collect();
        assert_eq!(taken.len(), 5, "CLOSED is not in the tables");
        let flight = taken
            .iter()
            .find(|a| a.from == "NEGOTIATED")
            .expect("NEGOTIATED arrow");
        assert_eq!(flight.kind, ArrowKind::Psk);
        assert_eq!(flight.steps, [3]);
        let d = Diagram::of_run("ephemeral-dh", &[], &server, Path::EphemeralDh);
        let flight = d.machines[1]
            .arrows
            .iter()
            .find(|a| a.from == "NEGOTIATED" && a.visited())
            .expect("NEGOTIATED arrow");
        assert_eq!(flight.kind, ArrowKind::Every);
        let dot = d.to_dot();
        assert!(
            dot.contains("label=\"3: send ServerHello, EncryptedExtensions, [CertificateRequest]")
        );
        assert!(dot.contains("thick: taken by this run"));
        assert!(d.machines[0].states.iter().all(|s| !s.visited));
    }

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(html("<a & b>"), "&lt;a &amp; b&gt;");
    }
}
