//! The HTML view of an [`Explanation`]: one self-contained page (inline CSS and script, no
//! network requests) with, per run, a message sequence diagram, the state machines, the
//! key schedule as a diagram, a byte explorer for every record and message, and the
//! check-it-yourself commands.
//!
//! Everything is in the HTML; the script only adds interaction (highlighting the field of
//! the byte under the pointer or focus, arrow keys, copy buttons). The same model gives the
//! same bytes.

mod svg;

use std::fmt::Write as _;

use super::model::{
    Check, Explanation, FieldView, MessageStep, NoteStep, ProtectionView, RecordStep,
    RunExplanation, Step, ValueStep,
};

const CSS: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");

/// Renders `explanation` as one HTML document titled `title`.
pub fn render(explanation: &Explanation, title: &str) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{}</h1>\n",
        esc(title),
        esc(title)
    );
    intro(&mut h, explanation);
    h.push_str("</header>\n<main>\n");
    for run in &explanation.runs {
        run_section(&mut h, run);
    }
    let _ = write!(
        h,
        "</main>\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n"
    );
    h
}

fn intro(h: &mut String, e: &Explanation) {
    let _ = write!(
        h,
        "<p>Every record of each connection in the order it crossed the wire, the handshake \
         messages it carried field by field, and each key schedule step after the message \
         that makes it possible. Point at or focus a byte to see its field; § is a section \
         of RFC 8446.{}</p>\n\
         <p class=\"legend\"><span><span class=\"sw\" style=\"background:var(--plain)\"></span>\
         plaintext</span><span><span class=\"sw\" style=\"background:var(--hs)\"></span>\
         handshake keys</span><span><span class=\"sw\" style=\"background:var(--app)\"></span>\
         application keys</span></p>\n<nav><ul>\n",
        e.repeat.as_ref().map_or_else(String::new, |r| format!(
            " Seed {}: <code>{}</code> repeats this page byte for byte.",
            r.seed,
            esc(&r.command.replace("--explain", "--html FILE"))
        ))
    );
    for run in &e.runs {
        let _ = writeln!(
            h,
            "<li><a href=\"#run-{n}\">run {n}: {}</a></li>",
            esc(&run.path),
            n = run.number
        );
    }
    h.push_str("</ul></nav>\n");
}

fn run_section(h: &mut String, run: &RunExplanation) {
    let n = run.number;
    let _ = write!(
        h,
        "<section class=\"run\" id=\"run-{n}\">\n<h2>run {n}: {} <small>({})</small></h2>\n\
         <h3>Why this path</h3>\n<ul class=\"why\">\n",
        esc(&run.path),
        esc(&run.client)
    );
    for reason in &run.reasons {
        let _ = writeln!(h, "<li>{}</li>", esc(reason));
    }
    let _ = writeln!(
        h,
        "</ul>\n<p>negotiated: {}, group {}</p>",
        esc(&run.cipher_suite),
        esc(run.group.as_deref().unwrap_or("none (no (EC)DHE)"))
    );
    svg::sequence(h, run);
    svg::states(h, run);
    svg::key_schedule(h, run);
    h.push_str("<h3>Step by step</h3>\n");
    for (i, step) in run.steps.iter().enumerate() {
        let id = format!("r{n}s{i}");
        match step {
            Step::Record(r) => record(h, &id, r),
            Step::Message(m) => message(h, &id, m),
            Step::Value(v) => value(h, &id, v),
            Step::Note(note) => self::note(h, note),
        }
    }
    h.push_str("</section>\n");
}

/// The CSS class of a protection epoch: plaintext, handshake keys or application keys.
pub(crate) fn epoch(secret_label: Option<&str>) -> &'static str {
    match secret_label {
        None => "plain",
        Some(l) if l.contains("handshake") => "hs",
        Some(_) => "app",
    }
}

fn direction(from_client: bool) -> &'static str {
    if from_client {
        "client → server"
    } else {
        "server → client"
    }
}

fn record(h: &mut String, id: &str, r: &RecordStep) {
    let class = epoch(r.protection.as_ref().map(|p| p.secret_label.as_str()));
    let _ = writeln!(
        h,
        "<article class=\"record {class}\" id=\"record-{id}\" data-record=\"{}\">\n\
         <h4>record {} ({}): {}</h4>",
        r.number,
        r.number,
        direction(r.from_client),
        esc(&r.title)
    );
    match &r.protection {
        None => explorer(h, id, &r.fields),
        Some(p) => {
            h.push_str("<div class=\"pair\"><div>\n<p>on the wire</p>\n");
            explorer(h, id, &r.fields);
            h.push_str("</div><div>\n<p>decrypted TLSInnerPlaintext (§5.2)</p>\n");
            explorer(h, &format!("{id}p"), &p.inner);
            h.push_str("</div></div>\n");
            protection(h, id, p);
        }
    }
    h.push_str("</article>\n");
}

fn protection(h: &mut String, id: &str, p: &ProtectionView) {
    let _ = writeln!(
        h,
        "<p>Opened with <code>{}</code>; write key and IV from it (§7.3); nonce = IV XOR \
         sequence number {} (§5.3); additional data = the record header (§5.2).</p>\n<table>",
        esc(&p.secret_label),
        p.sequence_number
    );
    for (name, hex) in [
        ("key", &p.key),
        ("iv", &p.iv),
        ("nonce", &p.nonce),
        ("aad", &p.aad),
        ("tag", &p.tag),
    ] {
        let _ = writeln!(
            h,
            "<tr><th>{name}</th><td class=\"hex\">{}</td></tr>",
            spaced(hex)
        );
    }
    h.push_str("</table>\n");
    if let Some(c) = &p.check {
        check(h, id, c);
    }
}

fn message(h: &mut String, id: &str, m: &MessageStep) {
    let class = if m.encrypted { "hs" } else { "plain" };
    let _ = writeln!(
        h,
        "<article class=\"message {class}\" id=\"message-{id}\" data-message=\"{}\">\n\
         <h4>message {} ({}): {}</h4>",
        esc(&m.name),
        m.number,
        direction(m.from_client),
        esc(&m.name)
    );
    explorer(h, id, &m.fields);
    h.push_str("</article>\n");
}

/// A byte grid over the leaves' bytes, a detail line, and the field table (which alone
/// carries all the content, for readers without the script).
fn explorer(h: &mut String, id: &str, fields: &[FieldView]) {
    let _ = write!(
        h,
        "<div class=\"grid\" role=\"group\" aria-label=\"bytes\" data-fields=\"f-{id}\" \
         data-detail=\"d-{id}\">"
    );
    for f in fields.iter().filter(|f| !f.group) {
        for pair in f.hex.as_bytes().chunks(2) {
            h.push_str("<i>");
            h.push_str(std::str::from_utf8(pair).unwrap_or("??"));
            h.push_str("</i>");
        }
    }
    let _ = writeln!(
        h,
        "</div>\n<div class=\"detail\" id=\"d-{id}\" aria-live=\"polite\"></div>\n\
         <details open><summary>fields</summary>\n<table id=\"f-{id}\">\n\
         <tr><th>offset</th><th>field</th><th>bytes</th><th>meaning</th></tr>"
    );
    for f in fields {
        let pad = "\u{a0}\u{a0}".repeat(f.depth);
        let _ = writeln!(
            h,
            "<tr data-off=\"{}\" data-len=\"{}\" data-leaf=\"{}\"{}><td>{:04x}</td>\
             <td>{pad}{}</td><td class=\"hex\">{}</td><td>{}</td></tr>",
            f.offset,
            f.len,
            u8::from(!f.group),
            if f.group { " class=\"group\"" } else { "" },
            f.offset,
            esc(&f.name),
            spaced(&f.hex),
            esc(&f.meaning)
        );
    }
    h.push_str("</table></details>\n");
}

fn value(h: &mut String, id: &str, v: &ValueStep) {
    let _ = writeln!(
        h,
        "<article class=\"value\" id=\"value-{id}\">\n<h4>{} = {}</h4>\n<table>",
        esc(&v.name),
        esc(&v.formula)
    );
    for input in &v.inputs {
        let _ = writeln!(
            h,
            "<tr><th>{}</th><td class=\"hex\">{}</td></tr>",
            esc(&input.name),
            esc(&input.value)
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>{}</th><td class=\"hex\"><strong>{}</strong></td></tr>\n</table>",
        esc(&v.name),
        spaced(&v.value)
    );
    if let Some(c) = &v.check {
        check(h, id, c);
    }
    h.push_str("</article>\n");
}

fn check(h: &mut String, id: &str, c: &Check) {
    let _ = writeln!(
        h,
        "<p>Check it yourself (prints <code>{}</code>):</p>\n<pre class=\"cmd\" id=\"c-{id}\">{}</pre>",
        esc(&c.expected),
        esc(&c.command)
    );
}

fn note(h: &mut String, n: &NoteStep) {
    let _ = writeln!(
        h,
        "<aside class=\"note\"><h4>{}</h4><p>{}</p></aside>",
        esc(&n.title),
        esc(&n.text)
    );
}

/// `0303` → `03 03`.
fn spaced(hex: &str) -> String {
    let mut out = String::with_capacity(hex.len() * 3 / 2);
    for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(std::str::from_utf8(pair).unwrap_or("??"));
    }
    out
}

/// Escapes text for HTML element content and double-quoted attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
