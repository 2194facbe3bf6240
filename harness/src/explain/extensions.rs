//! Extension blocks (RFC 8446 §4.2) and the extensions whose content is explained field by
//! field; the rest are shown as raw extension_data.

use handshake::msgs::enums::{
    ExtensionContext, ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    SignatureScheme,
};

use super::code_point;
use super::cursor::{Cursor, length_meaning};

use ExtensionContext as C;
use ExtensionType as T;

/// `Extension extensions<..2^16-1>` of a message of `context`.
pub(super) fn extensions(c: &mut Cursor<'_>, context: ExtensionContext) -> Option<()> {
    c.vector(
        2,
        "extensions",
        |block| match count(block) {
            0 => format!("none in this {context} (§4.2)"),
            1 => format!("1 extension in this {context} (§4.2)"),
            n => format!("{n} extensions in this {context} (§4.2)"),
        },
        |c| {
            while !c.at_end() {
                extension(c, context)?;
            }
            Some(())
        },
    )
}

/// The number of extensions a block holds, counting a truncated last one.
fn count(mut block: &[u8]) -> usize {
    let mut n = 0;
    while !block.is_empty() {
        n += 1;
        let len = match block.get(2..4) {
            Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
            _ => 0,
        };
        block = block.get(4 + len..).unwrap_or_default();
    }
    n
}

/// One `Extension`: extension_type, extension_data length, extension_data.
fn extension(c: &mut Cursor<'_>, context: ExtensionContext) -> Option<()> {
    let typ = ExtensionType::from_u16(c.peek_uint(0, 2)? as u16);
    let data_len = c.peek_uint(2, 2)? as usize;
    let mut meaning = purpose(typ, context);
    if typ.permitted_in(context) == Some(false) {
        meaning.push_str(&format!(
            "; NOT allowed in a {context} (§4.2 table): a receiver aborts with illegal_parameter"
        ));
    }
    c.group(4 + data_len, &format!("extension {typ}"), meaning, |c| {
        c.uint(2, "extension_type", |v| code_point(typ.name(), v as u16, 4))?;
        let available = c.remaining().saturating_sub(2);
        c.uint(2, "extension_data length", |n| length_meaning(n, available))?;
        // Data cut short is still explained as far as it goes.
        data(c, typ, context)
    })
}

/// The extension_data of `typ` in the form `context` gives it.
fn data(c: &mut Cursor<'_>, typ: ExtensionType, context: ExtensionContext) -> Option<()> {
    let side = if matches!(context, C::ClientHello) {
        "client"
    } else {
        "server"
    };
    match (typ, context) {
        (T::ServerName, C::ClientHello) => server_names(c),
        (T::SupportedGroups, _) => u16_list(c, "named_group_list", "named_group", |v| {
            let group = NamedGroup::from_u16(v);
            let named = code_point(group.name(), v, 4);
            if handshake::SupportedGroup::from_group(group).is_some() {
                format!("{named}, a group keylab implements")
            } else {
                named
            }
        }),
        (T::SignatureAlgorithms | T::SignatureAlgorithmsCert, _) => u16_list(
            c,
            "supported_signature_algorithms",
            "signature_scheme",
            signature_scheme,
        ),
        (T::KeyShare, C::ClientHello) => c.vector(
            2,
            "client_shares",
            |_| "one KeyShareEntry per group the client guesses the server will pick".into(),
            |c| {
                while !c.at_end() {
                    key_share_entry(c, side)?;
                }
                Some(())
            },
        ),
        (T::KeyShare, C::HelloRetryRequest) => c
            .uint(2, "selected_group", |v| {
                format!(
                    "{}: the client must send a key share for this group in its second \
                     ClientHello (§4.2.8)",
                    code_point(NamedGroup::from_u16(v as u16).name(), v as u16, 4)
                )
            })
            .map(drop),
        (T::KeyShare, _) => key_share_entry(c, side),
        (T::SupportedVersions, C::ClientHello) => c.vector(
            1,
            "versions",
            |_| "versions offered, most preferred first".into(),
            |c| {
                while c.remaining() >= 2 {
                    c.uint(2, "version", |v| version(v as u16))?;
                }
                Some(())
            },
        ),
        (T::SupportedVersions, _) => c
            .uint(2, "selected_version", |v| {
                format!("{}: the version the server chose", version(v as u16))
            })
            .map(drop),
        (T::Cookie, _) => c
            .opaque(2, "cookie", |_| {
                "state the server wants back in the next ClientHello, so it can stay \
                 stateless across a HelloRetryRequest (§4.2.2)"
                    .into()
            })
            .map(drop),
        (T::PskKeyExchangeModes, _) => c.vector(
            1,
            "ke_modes",
            |_| "key exchange modes the client accepts with a PSK".into(),
            |c| {
                while !c.at_end() {
                    c.uint(1, "ke_mode", |v| psk_mode(v as u8))?;
                }
                Some(())
            },
        ),
        (T::PreSharedKey, C::ClientHello) => offered_psks(c),
        (T::PreSharedKey, _) => c
            .uint(2, "selected_identity", |v| {
                format!("{v}: index of the client's PSK identity the server accepted (§4.2.11)")
            })
            .map(drop),
        (T::EarlyData, C::NewSessionTicket) => c
            .uint(4, "max_early_data_size", |v| {
                format!("{v} bytes of 0-RTT data may be sent when resuming with this ticket")
            })
            .map(drop),
        (T::RecordSizeLimit, _) => c
            .uint(2, "record_size_limit", |v| {
                format!("{v}: the largest record plaintext the sender will accept (RFC 8449)")
            })
            .map(drop),
        (T::MaxFragmentLength, _) => c
            .uint(1, "max_fragment_length", |v| match v {
                1..=4 => format!("{v}: fragments of at most 2^{} bytes (RFC 6066 §4)", 8 + v),
                _ => format!("{v}: not a defined value (RFC 6066 §4)"),
            })
            .map(drop),
        (T::ApplicationLayerProtocolNegotiation, _) => c.vector(
            2,
            "protocol_name_list",
            |_| "application protocols, most preferred first (RFC 7301 §3.1)".into(),
            |c| {
                while !c.at_end() {
                    c.opaque(1, "protocol_name", quoted)?;
                }
                Some(())
            },
        ),
        (T::CertificateAuthorities, _) => c.vector(
            2,
            "authorities",
            |_| "the CAs the sender trusts (§4.2.4)".into(),
            |c| {
                while !c.at_end() {
                    c.opaque(2, "DistinguishedName", |_| {
                        "DER X.501 name of a trusted CA (not decoded here)".into()
                    })?;
                }
                Some(())
            },
        ),
        (T::Padding, _) => {
            c.rest("padding", |zeros| {
                format!("{} bytes that only lengthen the ClientHello", zeros.len())
            });
            Some(())
        }
        _ => {
            c.rest("extension_data", |_| "not decoded here: raw bytes".into());
            Some(())
        }
    }
}

/// What an extension is for, in the message that carries it.
fn purpose(typ: ExtensionType, context: ExtensionContext) -> String {
    let text = match (typ, context) {
        (T::ServerName, C::ClientHello) => {
            "the host name the client wants (SNI, RFC 6066 §3), in clear: it lets the server \
             pick a certificate"
        }
        (T::ServerName, _) => "empty: the server used the client's server_name (RFC 6066 §3)",
        (T::SupportedGroups, C::EncryptedExtensions) => {
            "the server's groups, for the client's next connections (§4.2.7)"
        }
        (T::SupportedGroups, _) => "key exchange groups the client supports (§4.2.7)",
        (T::SignatureAlgorithms, C::CertificateRequest) => {
            "required in a CertificateRequest (§4.3.2): the schemes the server accepts in the \
             client's CertificateVerify (§4.2.3)"
        }
        (T::SignatureAlgorithms, _) => {
            "the schemes the client accepts in the server's CertificateVerify (§4.2.3)"
        }
        (T::SignatureAlgorithmsCert, C::CertificateRequest) => {
            "the schemes the server accepts in signatures inside the client's certificates \
             (§4.2.3)"
        }
        (T::SignatureAlgorithmsCert, _) => {
            "the schemes the client accepts in signatures inside the server's certificates \
             (§4.2.3)"
        }
        (T::KeyShare, C::ClientHello) => {
            "the client's ephemeral (EC)DH public keys (§4.2.8): with a good guess the server \
             needs no second round trip"
        }
        (T::KeyShare, C::HelloRetryRequest) => {
            "the group the server wants a key share for (§4.2.8)"
        }
        (T::KeyShare, _) => {
            "the server's ephemeral public key: combined with the client's share it gives \
             the (EC)DHE shared secret, the input of the handshake secret (§4.2.8, §7.1)"
        }
        (T::SupportedVersions, C::ClientHello) => {
            "the versions the client offers; listing 0x0304 is how TLS 1.3 is offered (§4.2.1)"
        }
        (T::SupportedVersions, _) => "the version the server chose (§4.2.1)",
        (T::Cookie, _) => "a HelloRetryRequest cookie the client must echo (§4.2.2)",
        (T::PskKeyExchangeModes, _) => {
            "how the client lets a PSK be used: alone (psk_ke) or with (EC)DHE (psk_dhe_ke) \
             (§4.2.9)"
        }
        (T::PreSharedKey, C::ClientHello) => {
            "PSKs the client offers (e.g. resumption tickets) with their binders; always the \
             last extension (§4.2.11)"
        }
        (T::PreSharedKey, _) => "the PSK the server accepted (§4.2.11)",
        (T::EarlyData, C::ClientHello) => "the client is sending 0-RTT data (§4.2.10)",
        (T::EarlyData, C::EncryptedExtensions) => "the server accepted the 0-RTT data (§4.2.10)",
        (T::EarlyData, _) => "this ticket allows 0-RTT data (§4.2.10)",
        (T::RecordSizeLimit, _) => "the largest record the sender will accept (RFC 8449)",
        (T::MaxFragmentLength, _) => "a smaller maximum record size (RFC 6066 §4)",
        (T::ApplicationLayerProtocolNegotiation, _) => "ALPN (RFC 7301)",
        (T::CertificateAuthorities, C::CertificateRequest) => {
            "the CAs the server trusts: the client should send a chain to one of them (§4.2.4)"
        }
        (T::CertificateAuthorities, _) => "the CAs the sender trusts (§4.2.4)",
        (T::OidFilters, _) => {
            "certificate extension values the client's certificate must match (§4.2.5)"
        }
        (T::PostHandshakeAuth, _) => {
            "the client accepts a CertificateRequest after the handshake (§4.2.6)"
        }
        (T::StatusRequest, _) => "OCSP stapling (RFC 6066 §8)",
        (T::SignedCertificateTimestamp, _) => "Certificate Transparency (RFC 6962)",
        (T::Padding, _) => "padding (RFC 7685)",
        (T::SessionTicket, _) => "TLS 1.2 session tickets (RFC 5077); unused by TLS 1.3",
        (T::RenegotiationInfo, _) => {
            "TLS 1.2 secure renegotiation (RFC 5746); TLS 1.3 has no renegotiation"
        }
        (T::Unknown(_), _) => "an extension this explainer does not know",
        _ => "an extension TLS 1.3 lists but keylab does not use",
    };
    text.to_owned()
}

/// A vector of two-byte code points with a two-byte length.
fn u16_list(
    c: &mut Cursor<'_>,
    name: &str,
    element: &str,
    meaning: impl Fn(u16) -> String,
) -> Option<()> {
    c.vector(
        2,
        name,
        |list| format!("{} value(s), most preferred first", list.len() / 2),
        |c| {
            while c.remaining() >= 2 {
                c.uint(2, element, |v| meaning(v as u16))?;
            }
            Some(())
        },
    )
}

/// RFC 6066 §3 `ServerNameList`.
fn server_names(c: &mut Cursor<'_>) -> Option<()> {
    c.vector(
        2,
        "server_name_list",
        |_| "the names the client asks for".into(),
        |c| {
            while !c.at_end() {
                c.uint(1, "name_type", |t| match t {
                    0 => "host_name (0)".into(),
                    t => format!("{t}: not a defined NameType"),
                })?;
                c.opaque(2, "host_name", quoted)?;
            }
            Some(())
        },
    )
}

/// RFC 8446 §4.2.8 `KeyShareEntry`.
fn key_share_entry(c: &mut Cursor<'_>, side: &str) -> Option<()> {
    let group = NamedGroup::from_u16(c.peek_uint(0, 2)? as u16);
    let key_len = c.peek_uint(2, 2)? as usize;
    c.group(
        4 + key_len,
        "KeyShareEntry",
        format!("the {side}'s public key for {group}"),
        |c| {
            c.uint(2, "group", |v| code_point(group.name(), v as u16, 4))?;
            c.opaque(2, "key_exchange", |key| key_exchange(group, key, side))?;
            Some(())
        },
    )
}

fn key_exchange(group: NamedGroup, key: &[u8], side: &str) -> String {
    match (group, key.len(), key.first()) {
        (NamedGroup::X25519, 32, _) => format!(
            "the {side}'s ephemeral X25519 public key, a 32-byte u-coordinate (§4.2.8.2); \
             its private half never leaves the {side}"
        ),
        (NamedGroup::Secp256r1 | NamedGroup::Secp384r1 | NamedGroup::Secp521r1, _, Some(4)) => {
            format!(
                "the {side}'s ephemeral ECDH public key: uncompressed point 04 || X || Y (§4.2.8.2)"
            )
        }
        (_, n, _) => format!("{n}-byte public key of the {side} for {group}"),
    }
}

/// RFC 8446 §4.2.11 `OfferedPsks`: identities, then binders.
fn offered_psks(c: &mut Cursor<'_>) -> Option<()> {
    c.vector(
        2,
        "identities",
        |_| "the PSKs offered, each with its ticket age".into(),
        |c| {
            while !c.at_end() {
                c.opaque(2, "identity", |_| {
                    "a ticket from a NewSessionTicket, or an external PSK's name".into()
                })?;
                c.uint(4, "obfuscated_ticket_age", |v| {
                    format!(
                        "{v}: the ticket's age in ms plus its ticket_age_add, mod 2^32 \
                         (§4.2.11.1); 0 for an external PSK"
                    )
                })?;
            }
            Some(())
        },
    )?;
    c.vector(
        2,
        "binders",
        |_| "one binder per identity, in the same order (§4.2.11.2)".into(),
        |c| {
            while !c.at_end() {
                c.opaque(1, "binder", |_| {
                    "HMAC with a key derived from the PSK over the ClientHello up to the \
                     binders: proves the client holds that PSK (§4.2.11.2)"
                        .into()
                })?;
            }
            Some(())
        },
    )
}

/// A signature scheme; unnamed values in the TLS 1.2 `SignatureAndHashAlgorithm` layout
/// (hash byte, signature byte; RFC 5246 §7.4.1.4.1) are spelled out.
pub(super) fn signature_scheme(v: u16) -> String {
    let scheme = SignatureScheme::from_u16(v);
    if scheme.name().is_some() {
        return code_point(scheme.name(), v, 4);
    }
    let [hash, signature] = v.to_be_bytes();
    let hash = match hash {
        1 => "md5",
        2 => "sha1",
        3 => "sha224",
        4 => "sha256",
        5 => "sha384",
        6 => "sha512",
        _ => return code_point(None, v, 4),
    };
    let signature = match signature {
        1 => "rsa",
        2 => "dsa",
        3 => "ecdsa",
        _ => return code_point(None, v, 4),
    };
    format!(
        "{signature} with {hash} (0x{v:04x}): a TLS 1.2 hash/signature pair (RFC 5246 \
         §7.4.1.4.1) with no TLS 1.3 name; never used for a TLS 1.3 CertificateVerify"
    )
}

fn version(v: u16) -> String {
    code_point(ProtocolVersion::from_u16(v).name(), v, 4)
}

fn psk_mode(v: u8) -> String {
    let mode = PskKeyExchangeMode::from_u8(v);
    let what = match mode {
        PskKeyExchangeMode::PskKe => ": the PSK alone, no forward secrecy",
        PskKeyExchangeMode::PskDheKe => ": the PSK plus (EC)DHE, forward secret",
        PskKeyExchangeMode::Unknown(_) => "",
    };
    format!("{}{what}", code_point(mode.name(), v.into(), 2))
}

/// A name as text in quotes, escaped where it is not printable.
pub(super) fn quoted(bytes: &[u8]) -> String {
    format!("\"{}\"", String::from_utf8_lossy(bytes).escape_debug())
}
