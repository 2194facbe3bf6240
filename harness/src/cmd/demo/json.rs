//! `keylab demo --json`: one document with a run per connection (shape in the README).

use handshake::Summary;
use serde::Serialize;

use super::{DemoArgs, Plan, check};
use crate::runner::Outcome;

#[derive(Serialize)]
struct Report<'a> {
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
struct Run<'a> {
    /// The `--path` name that makes this run: the path both sides report, or `hrr` for
    /// the run whose sides report `ephemeral-dh` with `hello_retry`.
    path: &'static str,
    ok: bool,
    client: Side,
    server: Side,
    messages: Vec<Message<'a>>,
    sent: String,
    reply: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_schedule: Option<Vec<Secret<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    handshake_ms: Option<f64>,
}

/// One side's summary, or the error that ended it.
#[derive(Serialize)]
#[serde(untagged)]
enum Side {
    Done(Box<SummaryJson>),
    Failed { error: String },
}

#[derive(Serialize)]
struct SummaryJson {
    path: &'static str,
    reason: String,
    cipher_suite: String,
    group: Option<String>,
    server_signature: Option<String>,
    client_identity: Option<String>,
    client_signature: Option<String>,
    hello_retry: bool,
    server_chain: Vec<String>,
    client_chain: Vec<String>,
    server_name: Option<String>,
    transcript_hash: String,
}

#[derive(Serialize)]
struct Message<'a> {
    from: &'static str,
    name: &'a str,
    size: usize,
    encrypted: bool,
    hex: String,
}

#[derive(Serialize)]
struct Secret<'a> {
    label: &'a str,
    derivation: &'a str,
    hex: String,
}

impl Side {
    fn of(result: Result<&Summary, &String>) -> Self {
        match result {
            Ok(s) => Side::Done(Box::new(SummaryJson {
                path: s.path.name(),
                reason: s.reason.clone(),
                cipher_suite: s.cipher_suite.to_string(),
                group: s.group.map(|g| g.to_string()),
                server_signature: s.server_signature.map(|x| x.to_string()),
                client_identity: s.client_identity.clone(),
                client_signature: s.client_signature.map(|x| x.to_string()),
                hello_retry: s.hello_retry,
                server_chain: s.server_chain.clone(),
                client_chain: s.client_chain.clone(),
                server_name: s.server_name.clone(),
                transcript_hash: hex::encode(s.transcript_hash),
            })),
            Err(e) => Side::Failed { error: e.clone() },
        }
    }
}

fn run<'a>(plan: &Plan, o: &'a Outcome, args: &DemoArgs) -> Run<'a> {
    let server = match &o.server {
        Some(sv) => Side::of(sv.result.as_ref()),
        None => Side::Failed {
            error: "the server did not report".into(),
        },
    };
    let messages = o
        .observed
        .messages
        .iter()
        .map(|m| Message {
            from: if m.from_client { "client" } else { "server" },
            name: &m.name,
            size: m.bytes.len(),
            encrypted: m.encrypted,
            hex: hex::encode(&m.bytes),
        })
        .collect();
    let key_schedule = args.explain.then(|| {
        o.observed
            .secrets
            .iter()
            .map(|s| Secret {
                label: &s.label,
                derivation: &s.derivation,
                hex: hex::encode(&s.value),
            })
            .collect()
    });
    Run {
        path: plan.name,
        ok: check(plan, o).is_ok(),
        client: Side::of(o.client.as_ref()),
        server,
        messages,
        sent: String::from_utf8_lossy(plan.message).into_owned(),
        reply: String::from_utf8_lossy(&o.reply).into_owned(),
        key_schedule,
        handshake_ms: args
            .seed
            .is_none()
            .then_some(o.handshake_time.as_secs_f64() * 1e3),
    }
}

/// The whole report, pretty-printed, with a final newline.
pub(super) fn report(plans: &[&Plan], outcomes: &[Outcome], args: &DemoArgs) -> String {
    let view = Report {
        runs: plans
            .iter()
            .zip(outcomes)
            .map(|(plan, o)| run(plan, o, args))
            .collect(),
    };
    // Plain structs with string keys: serializing cannot fail.
    let mut text = serde_json::to_string_pretty(&view).unwrap_or_default();
    text.push('\n');
    text
}
