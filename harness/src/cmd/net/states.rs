//! `keylab states`: the RFC 8446 Appendix A state machines, from the handshake crate's
//! own tables.

use std::io::Write;

use handshake::states::{self, Transition};

use super::{StatesArgs, StatesFormat};
use crate::failure::Failure;
use crate::states_diagram::Diagram;

/// `keylab states`: the RFC 8446 Appendix A machines from the handshake crate's data.
pub fn run(args: &StatesArgs, out: &mut dyn Write) -> Result<(), Failure> {
    let text = match args.format {
        // One digraph (client and server as clusters, with a legend), so that
        // `keylab states --format dot | dot -Tsvg` makes one valid picture.
        StatesFormat::Dot => Diagram::tables().to_dot(),
        StatesFormat::Text => {
            let mut s = String::new();
            table(
                &mut s,
                "client (RFC 8446 Appendix A.1)",
                &states::CLIENT_STATES,
                &states::CLIENT_TRANSITIONS,
            );
            s.push('\n');
            table(
                &mut s,
                "server (RFC 8446 Appendix A.2)",
                &states::SERVER_STATES,
                &states::SERVER_TRANSITIONS,
            );
            s
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Failure::input(e.to_string()))
}

fn table<S: std::fmt::Display>(
    s: &mut String,
    title: &str,
    names: &[S],
    transitions: &[Transition<S>],
) {
    s.push_str(title);
    s.push('\n');
    let names: Vec<String> = names.iter().map(ToString::to_string).collect();
    s.push_str(&format!("  states: {}\n", names.join(", ")));
    for t in transitions {
        let path = t
            .path
            .map_or_else(String::new, |p| format!("   [{p} path]"));
        s.push_str(&format!(
            "  {:<14} -> {:<14} on {}{path}\n",
            t.from, t.to, t.on
        ));
    }
}
