//! The key schedule values a side observed, as model steps placed after the message that
//! made each possible: the (EC)DHE exchange, every secret with its inputs, Finished and
//! binder MACs.

use super::model::{Input, Step, ValueStep};
use super::schedule::{self, Computation, Named};
use crate::observe::{
    BinderRecord, ContextRecord, FinishedRecord, KeyExchangeRecord, NamedBytes, Observed,
    SecretInputsRecord, SecretRecord,
};

/// Whose observations are explained.
#[derive(Clone, Copy, Debug)]
pub enum View<'a> {
    /// A demo: the client's view, with the server's ephemeral key beside it. Both private
    /// keys are shown (a demo connection protects nothing).
    Demo {
        /// What the server observed, when it reported.
        server: Option<&'a Observed>,
    },
    /// A connection a keylab server served (`keylab teach`): the server's view. Its
    /// ephemeral private key is not shown.
    Served,
}

/// The values observed right after message number `n`, in the order they were computed.
/// A binder the client computed goes with the ClientHello that carries it, `n` being that
/// ClientHello.
pub fn after(view: &Observed, who: View<'_>, n: usize, is_client_hello: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    for kx in view.key_exchanges.iter().filter(|k| k.after_messages == n) {
        let values = match who {
            View::Demo { server } => {
                demo_key_exchange(kx, server.and_then(|s| s.key_exchanges.first()))
            }
            View::Served => vec![served_key_exchange(kx)],
        };
        steps.extend(values.into_iter().map(Step::Value));
    }
    for f in view
        .finished
        .iter()
        .filter(|f| !f.sent && f.after_messages == n)
    {
        steps.extend(finished(f).into_iter().map(Step::Value));
    }
    for b in view.binders.iter().filter(|b| {
        (b.sent && is_client_hello && b.after_messages + 1 == n)
            || (!b.sent && b.after_messages == n)
    }) {
        steps.extend(binder(b).into_iter().map(Step::Value));
    }
    for s in view.secrets.iter().filter(|s| s.after_messages == n) {
        if let Some(v) = secret(s) {
            steps.push(Step::Value(v));
        }
    }
    for f in view
        .finished
        .iter()
        .filter(|f| f.sent && f.after_messages == n)
    {
        steps.extend(finished(f).into_iter().map(Step::Value));
    }
    steps
}

/// The server's shared secret on a served connection, without its private key.
fn served_key_exchange(kx: &KeyExchangeRecord) -> ValueStep {
    let shares = [
        Named {
            name: "client public key (its key_share)",
            value: &kx.peer_public_key,
        },
        Named {
            name: "server public key (its key_share)",
            value: &kx.public_key,
        },
    ];
    let function = if kx.group == "x25519" {
        "X25519"
    } else {
        "ECDH"
    };
    schedule::value(
        "ecdhe_shared_secret",
        &format!(
            "{function}(server ephemeral private key, client public key) (§7.4.2): the \
             server's private key is not shown; it was erased after use"
        ),
        Computation::Shown(&shares),
        &kx.shared_secret,
    )
}

fn named(n: &NamedBytes) -> Named<'_> {
    Named {
        name: &n.name,
        value: &n.value,
    }
}

/// One side's ephemeral key pair and the shared secret (RFC 8446 §4.2.8, §7.4), and the
/// peer's, which must give the same secret.
fn demo_key_exchange(kx: &KeyExchangeRecord, server: Option<&KeyExchangeRecord>) -> Vec<ValueStep> {
    let x25519 = kx.group == "x25519";
    let mut out = vec![private_key("client", kx)];
    out.push(public_key("client", kx, x25519));
    if let Some(s) = server {
        out.push(private_key("server", s));
        out.push(public_key("server", s, x25519));
    }
    let formula = if x25519 {
        "X25519(client private key, server public key) (RFC 7748 §6.1; §7.4.2)"
    } else {
        "ECDH(client private key, server public key): the x-coordinate (§7.4.2)"
    };
    let private = Named {
        name: "client private key",
        value: &kx.private_key,
    };
    let peer = Named {
        name: "server public key (its key_share)",
        value: &kx.peer_public_key,
    };
    let how = if x25519 {
        Computation::X25519 { private, peer }
    } else {
        Computation::P256 { private, peer }
    };
    out.push(schedule::value(
        "ecdhe_shared_secret",
        formula,
        how,
        &kx.shared_secret,
    ));
    if let Some(s) = server {
        let private = Named {
            name: "server private key",
            value: &s.private_key,
        };
        let peer = Named {
            name: "client public key (its key_share)",
            value: &s.peer_public_key,
        };
        let how = if x25519 {
            Computation::X25519 { private, peer }
        } else {
            Computation::P256 { private, peer }
        };
        out.push(schedule::value(
            "ecdhe_shared_secret, as the server computes it",
            "the same function with the roles swapped: both sides arrive at one value",
            how,
            &s.shared_secret,
        ));
    }
    out
}

fn private_key(who: &str, kx: &KeyExchangeRecord) -> ValueStep {
    schedule::value(
        &format!("{who} ephemeral private key ({})", kx.group),
        &format!(
            "drawn at random by the {who} for this connection alone and erased after use; shown \
             only because a demo connection protects nothing (§4.2.8)"
        ),
        Computation::Random,
        &kx.private_key,
    )
}

fn public_key(who: &str, kx: &KeyExchangeRecord, x25519: bool) -> ValueStep {
    schedule::value(
        &format!("{who} public key"),
        &format!("the key_exchange of the {who}'s KeyShareEntry (§4.2.8.2)"),
        Computation::PublicKey {
            private: Named {
                name: "private key",
                value: &kx.private_key,
            },
            x25519,
        },
        &kx.public_key,
    )
}

/// A secret with its inputs; the shared secret itself is shown with its key exchange.
fn secret(s: &SecretRecord) -> Option<ValueStep> {
    let (how, context_input) = match &s.inputs {
        SecretInputsRecord::Extract { salt, ikm } => (
            Computation::Extract {
                salt: named(salt),
                ikm: named(ikm),
            },
            None,
        ),
        SecretInputsRecord::ExpandLabel {
            secret,
            label,
            context,
            length,
        } => {
            let name = match context {
                ContextRecord::TranscriptHash(t) => {
                    format!("context: transcript hash of {}", t.covers)
                }
                ContextRecord::Empty => "context".to_owned(),
                ContextRecord::TicketNonce { .. } => "context: ticket_nonce".to_owned(),
            };
            (
                Computation::ExpandLabel {
                    secret: named(secret),
                    label,
                    context: Named {
                        name: "context",
                        value: context.bytes(),
                    },
                    length: *length,
                },
                Some(name),
            )
        }
        SecretInputsRecord::KeyExchange { .. } => return None,
    };
    // "Derive-Secret(., ...)" names its input secret by position; spell it out.
    let formula = match &s.inputs {
        SecretInputsRecord::ExpandLabel { secret, .. } => {
            s.derivation.replace("(.,", &format!("({},", secret.name))
        }
        _ => s.derivation.clone(),
    };
    let mut v = schedule::value(&s.label, &formula, how, &s.value);
    if let Some(name) = context_input
        && let Some(Input { name: n, .. }) = v.inputs.iter_mut().find(|i| i.name == "context")
    {
        *n = name;
    }
    Some(v)
}

/// finished_key and verify_data of one Finished (§4.4.4).
fn finished(f: &FinishedRecord) -> [ValueStep; 2] {
    let who = if f.from_client { "client" } else { "server" };
    mac_pair(
        &format!("{who} Finished"),
        named(&f.base_key),
        &f.finished_key,
        &f.transcript.covers,
        &f.transcript.hash,
        &f.verify_data,
        "verify_data",
    )
}

/// finished_key and the binder of one offered PSK (§4.2.11.2).
fn binder(b: &BinderRecord) -> [ValueStep; 2] {
    mac_pair(
        &format!("PSK binder {}", b.index),
        named(&b.binder_key),
        &b.finished_key,
        &b.transcript.covers,
        &b.transcript.hash,
        &b.binder,
        "binder",
    )
}

fn mac_pair(
    what: &str,
    base: Named<'_>,
    finished_key: &[u8],
    covers: &str,
    hash: &[u8],
    mac: &[u8],
    mac_name: &str,
) -> [ValueStep; 2] {
    let key_name = format!("{what} finished_key");
    let key = schedule::value(
        &key_name,
        &format!("HKDF-Expand-Label({}, \"finished\", \"\", 32)", base.name),
        Computation::ExpandLabel {
            secret: base,
            label: "finished",
            context: Named {
                name: "context",
                value: &[],
            },
            length: 32,
        },
        finished_key,
    );
    let transcript = format!("transcript hash of {covers}");
    let mac = schedule::value(
        &format!("{what} {mac_name}"),
        &format!("HMAC-SHA256(finished_key, {transcript})"),
        Computation::Hmac {
            key: Named {
                name: &key_name,
                value: finished_key,
            },
            data: Named {
                name: &transcript,
                value: hash,
            },
        },
        mac,
    );
    [key, mac]
}
