//! The terminal view of an [`Explanation`]: wrapped to a width, hex in rows of 16, colour
//! by kind of value when asked, a legend once at the top.
//!
//! Every line fits the width: prose wraps at spaces, hex wraps by bytes, a word or command
//! longer than the room is split (commands with a trailing `\`, so they paste back whole).

use super::check::wrap_command;
use super::layout::{self, Kind, Painter};
use super::model::{
    Check, Explanation, FieldView, MessageStep, NoteStep, ProtectionView, RecordStep, Repeat,
    RunExplanation, Step, ValueStep,
};

/// Values up to this many bytes are shown whole; longer ones as their first two rows and
/// last row, saying how many bytes are left out (`--json` has them all).
const SHOWN_WHOLE: usize = 64;

/// Renders `explanation` to lines of at most `width` characters.
pub fn render(explanation: &Explanation, width: usize, painter: Painter) -> String {
    let mut out = Out {
        lines: Vec::new(),
        width: width.max(layout::MIN_WIDTH),
        painter,
    };
    out.legend(explanation.repeat.as_ref());
    for run in &explanation.runs {
        out.run(run);
    }
    let mut text = out.lines.join("\n");
    text.push('\n');
    text
}

struct Out {
    lines: Vec<String>,
    width: usize,
    painter: Painter,
}

impl Out {
    fn push(&mut self, line: String) {
        self.lines.push(line);
    }

    /// Prose at `indent`, wrapped, painted as `kind`.
    fn prose(&mut self, indent: usize, first: &str, text: &str, kind: Kind) {
        let pad = " ".repeat(indent);
        let hang = " ".repeat(indent + layout::chars(first));
        for (i, line) in layout::wrap(text, self.width, &format!("{pad}{first}"), &hang)
            .into_iter()
            .enumerate()
        {
            let painted = if i == 0 && !first.is_empty() {
                let (head, tail) = line.split_at(pad.len() + first.len());
                format!("{head}{}", self.painter.paint(kind, tail))
            } else {
                self.painter.paint(kind, &line)
            };
            self.push(painted);
        }
    }

    fn legend(&mut self, repeat: Option<&Repeat>) {
        self.prose(
            0,
            "",
            &format!(
                "How to read this: every record of each connection in the order it crossed \
                 the wire, the handshake messages it carried field by field (offsets in hex \
                 from the start of the message), and each key schedule step right after the \
                 message that makes it possible. § is a section of RFC 8446 unless another \
                 RFC is named. Hex is shown 16 bytes a row; a value longer than {SHOWN_WHOLE} \
                 bytes is shown in part and says how much is left out (`--json` has every \
                 byte). The lines after \"check\" are a command that recomputes the value above \
                 it (python3; some need the `cryptography` package); a line ending in \\ \
                 continues on the next.{}",
                repeat.map_or_else(String::new, |r| format!(
                    " Seed {}: `{}` repeats this run byte for byte.",
                    r.seed, r.command
                ))
            ),
            Kind::Note,
        );
        if self.painter.enabled {
            self.push("Colours:".to_owned());
            for kind in Kind::ALL {
                let line = self.painter.paint(kind, kind.legend());
                self.push(format!("  {line}"));
            }
        }
        self.push(String::new());
    }

    fn run(&mut self, run: &RunExplanation) {
        let title = format!("run {}: {} ({})", run.number, run.path, run.client);
        self.prose(0, "", &title, Kind::Heading);
        for (i, reason) in run.reasons.iter().enumerate() {
            let first = if i == 0 { "why this path: " } else { "" };
            let indent = if i == 0 { 2 } else { 17 };
            self.prose(indent, first, reason, Kind::Note);
        }
        let group = run.group.as_deref().unwrap_or("none (no (EC)DHE)");
        self.prose(
            2,
            "negotiated: ",
            &format!("{}, group {group}", run.cipher_suite),
            Kind::Note,
        );
        self.push(String::new());
        for step in &run.steps {
            match step {
                Step::Record(r) => self.record(r),
                Step::Message(m) => self.message(m),
                Step::Value(v) => self.value(v),
                Step::Note(n) => self.note(n),
            }
        }
    }

    fn record(&mut self, r: &RecordStep) {
        let dir = direction(r.from_client);
        let title = format!("record {} ({dir}): {}", r.number, r.title);
        self.prose(2, "", &title, Kind::Heading);
        self.fields(4, &r.fields);
        if let Some(p) = &r.protection {
            self.protection(p);
        }
        self.push(String::new());
    }

    fn protection(&mut self, p: &ProtectionView) {
        self.prose(
            4,
            "",
            &format!(
                "opened with {} (write key and IV from it, §7.3); nonce = IV XOR sequence \
                 number {} (§5.3); additional data = the record header (§5.2); the AEAD \
                 opens ciphertext || tag",
                p.secret_label, p.sequence_number
            ),
            Kind::Note,
        );
        for (name, hex, kind) in [
            ("key", &p.key, Kind::Secret),
            ("iv", &p.iv, Kind::Secret),
            ("nonce", &p.nonce, Kind::Bytes),
            ("aad", &p.aad, Kind::Bytes),
        ] {
            self.hex_value(6, name, hex, kind);
        }
        self.prose(4, "", "TLSInnerPlaintext, decrypted (§5.2):", Kind::Note);
        self.fields(6, &p.inner);
        if let Some(check) = &p.check {
            self.check(
                check,
                "check (prints the whole TLSInnerPlaintext above, in one line):",
            );
        }
    }

    fn message(&mut self, m: &MessageStep) {
        let title = if m.number == 0 {
            m.name.clone()
        } else {
            format!(
                "message {} ({}): {}{}",
                m.number,
                direction(m.from_client),
                m.name,
                if m.encrypted { ", encrypted" } else { "" }
            )
        };
        self.prose(2, "", &title, Kind::Heading);
        self.fields(4, &m.fields);
        self.push(String::new());
    }

    /// Field lines: `0006  random: meaning`, the hex on the same line when short, in rows
    /// below when long.
    fn fields(&mut self, indent: usize, fields: &[FieldView]) {
        for f in fields {
            let pad = indent + 6 + 2 * f.depth;
            let name = self.painter.paint(Kind::Name, &f.name);
            let inline = !f.group && (1..=4).contains(&f.len);
            let empty = !f.group && f.len == 0;
            let head = if f.group {
                format!("{name} ({} bytes): ", f.len)
            } else if inline {
                let hex = spaced(&f.hex);
                format!("{name} {}: ", self.painter.paint(Kind::Bytes, &hex))
            } else {
                format!("{name}: ")
            };
            let first = format!(
                "{}{:04x}  {}{head}",
                " ".repeat(indent),
                f.offset,
                "  ".repeat(f.depth)
            );
            let hang = " ".repeat(pad + 2);
            for line in layout::wrap(&f.meaning, self.width, &first, &hang) {
                self.push(line);
            }
            if !f.group && !inline && !empty {
                self.hex_rows(pad + 2, &f.hex, Kind::Bytes);
            }
        }
    }

    /// A named hex value: `name (N bytes):` (wrapped) then its rows.
    fn hex_value(&mut self, indent: usize, name: &str, hex: &str, kind: Kind) {
        let bytes = hex.len() / 2;
        let pad = " ".repeat(indent);
        let hang = " ".repeat(indent + 2);
        let label = format!("{name} ({bytes} bytes):");
        for line in layout::wrap(&label, self.width, &pad, &hang) {
            let painted = self.painter.paint(Kind::Name, &line);
            self.push(painted);
        }
        self.hex_rows(indent + 2, hex, kind);
    }

    /// Hex in rows at `indent`, abbreviated (and saying so) past [`SHOWN_WHOLE`] bytes.
    fn hex_rows(&mut self, indent: usize, hex: &str, kind: Kind) {
        let bytes = hex::decode(hex).unwrap_or_default();
        let room = self.width.saturating_sub(indent);
        let per_row = layout::bytes_per_row(room);
        let pad = " ".repeat(indent);
        let (head, tail) = if bytes.len() > SHOWN_WHOLE {
            (&bytes[..2 * per_row], &bytes[bytes.len() - per_row..])
        } else {
            (&bytes[..], &[][..])
        };
        for row in layout::hex_rows(head, room) {
            let painted = self.painter.paint(kind, &row);
            self.push(format!("{pad}{painted}"));
        }
        if !tail.is_empty() {
            let left_out = bytes.len() - head.len() - tail.len();
            let note = format!("… {left_out} bytes not shown ({} in all) …", bytes.len());
            let painted = self.painter.paint(Kind::Note, &note);
            self.push(format!("{pad}{painted}"));
            for row in layout::hex_rows(tail, room) {
                let painted = self.painter.paint(kind, &row);
                self.push(format!("{pad}{painted}"));
            }
        }
    }

    fn value(&mut self, v: &ValueStep) {
        let head = format!("{} = ", v.name);
        self.prose(2, &head, &v.formula, Kind::Heading);
        for input in &v.inputs {
            if is_hex(&input.value) {
                self.hex_value(6, &input.name, &input.value, Kind::Secret);
            } else if input.value.is_empty() {
                self.prose(6, &format!("{}: ", input.name), "(empty)", Kind::Note);
            } else {
                self.prose(6, &format!("{}: ", input.name), &input.value, Kind::Note);
            }
        }
        self.hex_value(4, &v.name, &v.value, Kind::Secret);
        if let Some(check) = &v.check {
            self.check(check, "check:");
        }
        self.push(String::new());
    }

    fn check(&mut self, check: &Check, label: &str) {
        self.push(self.painter.paint(Kind::Note, &format!("    {label}")));
        for line in wrap_command(&check.command, self.width, "    ") {
            let painted = self.painter.paint(Kind::Command, &line);
            self.push(painted);
        }
    }

    fn note(&mut self, n: &NoteStep) {
        self.prose(2, "", &n.title, Kind::Heading);
        self.prose(4, "", &n.text, Kind::Note);
        self.push(String::new());
    }
}

fn direction(from_client: bool) -> &'static str {
    if from_client {
        "client -> server"
    } else {
        "server -> client"
    }
}

/// `0303` → `03 03`.
fn spaced(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|p| std::str::from_utf8(p).unwrap_or("??"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.len().is_multiple_of(2) && s.bytes().all(|b| b.is_ascii_hexdigit())
}
