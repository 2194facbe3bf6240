//! Key schedule steps (RFC 8446 §7) as model values: each with its named inputs and the
//! command that recomputes it from them.

use handshake::SupportedSuite;

use super::check;
use super::model::{Check, Input, NoteStep, ValueStep};

/// A named byte string: an input of a computation.
#[derive(Clone, Copy, Debug)]
pub struct Named<'a> {
    /// Its name, e.g. `handshake_secret` or `zeros`.
    pub name: &'a str,
    /// Its bytes.
    pub value: &'a [u8],
}

/// How a value was computed.
#[derive(Clone, Copy, Debug)]
pub enum Computation<'a> {
    /// HKDF-Extract(salt, IKM) (RFC 5869 §2.2).
    Extract {
        /// The salt.
        salt: Named<'a>,
        /// The input keying material.
        ikm: Named<'a>,
    },
    /// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1).
    ExpandLabel {
        /// The secret.
        secret: Named<'a>,
        /// The label without "tls13 ".
        label: &'a str,
        /// The context and what it is (e.g. the transcript hash of which messages).
        context: Named<'a>,
        /// The output length.
        length: usize,
    },
    /// HMAC-SHA256(key, data): a Finished verify_data or a PSK binder (§4.4.4, §4.2.11.2).
    Hmac {
        /// The finished_key.
        key: Named<'a>,
        /// The transcript hash.
        data: Named<'a>,
    },
    /// The X25519 function (RFC 7748 §6.1).
    X25519 {
        /// This side's ephemeral private key.
        private: Named<'a>,
        /// The peer's public key.
        peer: Named<'a>,
    },
    /// ECDH on secp256r1, the x-coordinate (RFC 8446 §7.4.2).
    P256 {
        /// This side's ephemeral private scalar.
        private: Named<'a>,
        /// The peer's uncompressed point.
        peer: Named<'a>,
    },
    /// The public key of an ephemeral private key: X25519(k, 9) or k·G on secp256r1.
    PublicKey {
        /// The private key.
        private: Named<'a>,
        /// Whether the group is x25519 (else secp256r1).
        x25519: bool,
    },
    /// Computed from inputs that are shown but not all given (e.g. a served connection's
    /// shared secret, whose private key is not shown): no command.
    Shown(&'a [Named<'a>]),
    /// Drawn at random: nothing to recompute.
    Random,
}

impl Computation<'_> {
    /// The named inputs, in order.
    fn inputs(&self) -> Vec<Input> {
        let named = |n: &Named<'_>| Input {
            name: n.name.to_owned(),
            value: hex::encode(n.value),
        };
        match self {
            Computation::Extract { salt, ikm } => vec![named(salt), named(ikm)],
            Computation::ExpandLabel {
                secret,
                label,
                context,
                length,
            } => {
                let mut inputs = vec![
                    named(secret),
                    Input {
                        name: "label".into(),
                        value: format!("\"tls13 {label}\""),
                    },
                    named(context),
                    Input {
                        name: "length".into(),
                        value: format!("{length} bytes"),
                    },
                ];
                // The info of HKDF-Expand, from the key schedule's own encoder (§7.1).
                if let Ok(info) =
                    handshake::key_schedule::hkdf_label(label.as_bytes(), context.value, *length)
                {
                    inputs.push(Input {
                        name: "HkdfLabel (length, \"tls13 \" + label, context)".into(),
                        value: hex::encode(info),
                    });
                }
                inputs
            }
            Computation::Hmac { key, data } => vec![named(key), named(data)],
            Computation::X25519 { private, peer } | Computation::P256 { private, peer } => {
                vec![named(private), named(peer)]
            }
            Computation::PublicKey { .. } | Computation::Random => Vec::new(),
            Computation::Shown(inputs) => inputs.iter().map(named).collect(),
        }
    }

    /// The command that recomputes the value.
    fn command(&self) -> Option<String> {
        Some(match self {
            Computation::Extract { salt, ikm } => check::hkdf_extract(salt.value, ikm.value),
            Computation::ExpandLabel {
                secret,
                label,
                context,
                length,
            } if *length <= 32 => {
                check::hkdf_expand_label(secret.value, label, context.value, *length)
            }
            Computation::ExpandLabel { .. } | Computation::Shown(_) | Computation::Random => {
                return None;
            }
            Computation::PublicKey {
                private,
                x25519: true,
            } => check::x25519_public(private.value),
            Computation::PublicKey { private, .. } => check::p256_public(private.value),
            Computation::Hmac { key, data } => check::hmac_sha256(key.value, data.value),
            Computation::X25519 { private, peer } => check::x25519(private.value, peer.value),
            Computation::P256 { private, peer } => check::p256_ecdh(private.value, peer.value),
        })
    }
}

/// A value of the key schedule with its inputs and check.
pub fn value(name: &str, formula: &str, how: Computation<'_>, value: &[u8]) -> ValueStep {
    ValueStep {
        name: name.to_owned(),
        formula: formula.to_owned(),
        inputs: how.inputs(),
        value: hex::encode(value),
        private: matches!(how, Computation::Random),
        check: how.command().map(|command| Check {
            command,
            expected: hex::encode(value),
        }),
    }
}

/// The write key and IV of a traffic secret (RFC 8446 §7.3), as two values.
pub fn traffic_keys(
    suite: SupportedSuite,
    secret_name: &str,
    secret: &[u8],
    key: &[u8],
    iv: &[u8],
) -> [ValueStep; 2] {
    let named = Named {
        name: secret_name,
        value: secret,
    };
    let empty = Named {
        name: "context",
        value: &[],
    };
    let part = |what: &str, bytes: &[u8]| {
        value(
            &format!("{secret_name} {what}"),
            &format!(
                "HKDF-Expand-Label({secret_name}, \"{what}\", \"\", {}) (§7.3, {suite})",
                bytes.len()
            ),
            Computation::ExpandLabel {
                secret: named,
                label: what,
                context: empty,
                length: bytes.len(),
            },
            bytes,
        )
    };
    [part("key", key), part("iv", iv)]
}

/// Once per explanation, before the first HKDF-Expand-Label: how its HkdfLabel is built.
pub fn hkdf_label_note() -> NoteStep {
    NoteStep {
        title: "HKDF-Expand-Label and Derive-Secret (§7.1)".into(),
        text: "HKDF-Expand-Label(Secret, Label, Context, Length) = HKDF-Expand(Secret, \
               HkdfLabel, Length), where HkdfLabel is the uint16 Length, then the label \
               \"tls13 \" + Label as a vector with a one-byte length, then Context as a vector \
               with a one-byte length. The \"tls13 \" prefix (6 bytes: 74 6c 73 31 33 20) keeps \
               TLS 1.3's labels apart from every other protocol's. Derive-Secret(Secret, \
               Label, Messages) is HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), \
               32): the context is the SHA-256 of the handshake messages so far, so every \
               secret is bound to the exact handshake. For lengths up to 32 bytes HKDF-Expand \
               is one HMAC: HMAC-SHA256(Secret, HkdfLabel || 0x01), cut to Length, which is \
               what the check commands compute."
            .into(),
    }
}

/// After a HelloRetryRequest: what happens to the transcript (§4.4.1).
pub fn message_hash_note() -> NoteStep {
    NoteStep {
        title: "The transcript after a HelloRetryRequest (§4.4.1)".into(),
        text: "The server answered the first ClientHello with a HelloRetryRequest. In the \
               transcript, ClientHello1 is replaced by a synthetic message_hash message: \
               handshake type 254, length 32, and SHA-256(ClientHello1). The transcript then \
               continues with the HelloRetryRequest and the second ClientHello, so every later \
               secret still covers the first ClientHello. The server keeps only that hash \
               between the two hellos (a server could even send it to the client in a cookie \
               and keep no state; keylab's HelloRetryRequest carries no cookie)."
            .into(),
    }
}

/// On PSK paths: what the binder proves (§4.2.11.2), and what psk_ke gives up.
pub fn binder_note(psk_ke: bool) -> NoteStep {
    let then = if psk_ke {
        "With psk_ke nothing else does: no (EC)DHE, the Handshake Secret's input is zeros, so \
         whoever learns the PSK later can decrypt a recording of this connection (see \
         `keylab demo --forward-secrecy`)."
    } else {
        "With psk_dhe_ke the (EC)DHE shared secret is the input of the Handshake Secret, so \
         the PSK alone does not open a recording."
    };
    NoteStep {
        title: "The PSK binder (§4.2.11.2)".into(),
        text: format!(
            "The ClientHello ends with HMAC(finished_key(binder_key), Transcript-Hash of the \
             ClientHello up to the binders). Only a holder of the PSK can compute it, and it \
             binds the key to this very ClientHello; the server checks it before it answers \
             (a wrong one: decrypt_error). The PSK then enters the key schedule as the input \
             of the Early Secret. {then}"
        ),
    }
}
