//! Extension blocks (RFC 8446 §4.2): what each extension is for and what the fields the
//! codec decodes in it mean. Extensions the codec keeps as raw bytes (and unknown or GREASE
//! types) are shown as one extension_data leaf.

use handshake::msgs::enums::{
    ExtensionContext, ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    SignatureScheme,
};

use super::{code_point, uint};

use ExtensionContext as C;
use ExtensionType as T;

/// "client" for a ClientHello's extensions, "server" for the others.
pub(super) fn side(context: ExtensionContext) -> &'static str {
    if matches!(context, C::ClientHello) {
        "client"
    } else {
        "server"
    }
}

/// The meaning of an extension field the codec read as `what`.
pub(super) fn meaning(what: &str, bytes: &[u8]) -> Option<String> {
    let v = uint(bytes);
    Some(match what {
        "ServerName.name_type" => match v {
            0 => "host_name (0)".into(),
            t => format!("{t}: not a defined NameType"),
        },
        "HostName" => quoted(bytes),
        "NamedGroup" => {
            let group = NamedGroup::from_u16(v as u16);
            let named = code_point(group.name(), v as u16, 4);
            if handshake::SupportedGroup::from_group(group).is_some() {
                format!("{named}, a group keylab implements")
            } else {
                named
            }
        }
        "SignatureScheme" => signature_scheme(v as u16),
        "KeyShareHelloRetryRequest.selected_group" => format!(
            "{}: the client must send a key share for this group in its second ClientHello (§4.2.8)",
            code_point(NamedGroup::from_u16(v as u16).name(), v as u16, 4)
        ),
        "ProtocolVersion" => version(v as u16),
        "SupportedVersions.selected_version" => {
            format!("{}: the version the server chose", version(v as u16))
        }
        "cookie" => "state the server wants back in the next ClientHello, so it can stay stateless across a HelloRetryRequest (§4.2.2)"
            .into(),
        "PskKeyExchangeMode" => psk_mode(v as u8),
        "PskIdentity.identity" => {
            "a ticket from a NewSessionTicket, or an external PSK's name".into()
        }
        "PskIdentity.obfuscated_ticket_age" => format!(
            "{v}: the ticket's age in ms plus its ticket_age_add, mod 2^32 (§4.2.11.1); 0 for an external PSK"
        ),
        "PskBinderEntry" => "HMAC with a key derived from the PSK over the ClientHello up to the binders: proves the client holds that PSK (§4.2.11.2)"
            .into(),
        "PreSharedKeyExtension.selected_identity" => {
            format!("{v}: index of the client's PSK identity the server accepted (§4.2.11)")
        }
        "EarlyDataIndication.max_early_data_size" => {
            format!("{v} bytes of 0-RTT data may be sent when resuming with this ticket")
        }
        _ => return None,
    })
}

/// The meaning of an extension vector the codec read as `what`.
pub(super) fn group_meaning(what: &str, contents: &[u8]) -> Option<String> {
    Some(match what {
        "server_name_list" => "the names the client asks for".into(),
        "named_group_list" | "supported_signature_algorithms" => {
            format!("{} value(s), most preferred first", contents.len() / 2)
        }
        "client_shares" => {
            "one KeyShareEntry per group the client guesses the server will pick".into()
        }
        "SupportedVersions.versions" => "versions offered, most preferred first".into(),
        "ke_modes" => "key exchange modes the client accepts with a PSK".into(),
        "OfferedPsks.identities" => "the PSKs offered, each with its ticket age".into(),
        "OfferedPsks.binders" => "one binder per identity, in the same order (§4.2.11.2)".into(),
        _ => return None,
    })
}

/// The extension_data of an extension the codec keeps as raw bytes.
pub(super) fn raw_data(typ: Option<ExtensionType>, bytes: &[u8]) -> String {
    match typ {
        Some(T::Padding) => format!("{} bytes that only lengthen the ClientHello", bytes.len()),
        Some(T::Unknown(v)) if super::is_grease(v) => format!(
            "{} byte(s) of a GREASE extension (RFC 8701): meaningless; not decoded",
            bytes.len()
        ),
        Some(T::RecordSizeLimit) if bytes.len() == 2 => format!(
            "{}: the largest record plaintext the sender will accept (RFC 8449)",
            super::uint(bytes)
        ),
        _ => "not decoded here: raw bytes".into(),
    }
}

/// What an extension is for, in the message that carries it.
pub(super) fn purpose(typ: ExtensionType, context: ExtensionContext) -> String {
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
        (T::ApplicationLayerProtocolNegotiation, C::ClientHello) => {
            "ALPN (RFC 7301 §3.1): the application protocols the client can speak over this \
             connection, most preferred first (e.g. h2, http/1.1)"
        }
        (T::ApplicationLayerProtocolNegotiation, _) => {
            "ALPN (RFC 7301 §3.2): the application protocol the server chose from the \
             client's list; in TLS 1.3 the answer travels encrypted"
        }
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

/// One ALPN `ProtocolName` (RFC 7301 §3.1), shown as text: offered by the client, or in
/// EncryptedExtensions the server's choice.
pub(super) fn protocol_name(bytes: &[u8], context: ExtensionContext) -> String {
    let name = handshake::error::alpn_text(bytes);
    let known = match bytes {
        b"http/1.1" => " (HTTP/1.1, RFC 9112)",
        b"http/1.0" => " (HTTP/1.0)",
        b"h2" => " (HTTP/2 over TLS, RFC 9113)",
        b"h3" => " (HTTP/3, RFC 9114; QUIC only)",
        b"acme-tls/1" => " (ACME TLS-ALPN-01 validation, RFC 8737)",
        _ => "",
    };
    if matches!(context, C::ClientHello) {
        format!("{name}{known}: a protocol the client offers (RFC 7301 §3.1)")
    } else {
        format!(
            "{name}{known}: the server's choice, one of the names the client offered \
             (RFC 7301 §3.2)"
        )
    }
}

/// An ALPN `ProtocolNameList` (RFC 7301 §3.1) of `count` names.
pub(super) fn protocol_name_list(count: usize, context: ExtensionContext) -> String {
    if matches!(context, C::ClientHello) {
        format!("{count} protocol name(s), most preferred first (RFC 7301 §3.1)")
    } else {
        format!(
            "{count} protocol name(s); a server sends exactly one, its selection (RFC 7301 §3.1)"
        )
    }
}

pub(super) fn key_exchange(group: NamedGroup, key: &[u8], side: &str) -> String {
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

/// A signature scheme; unnamed values in the TLS 1.2 `SignatureAndHashAlgorithm` layout
/// (hash byte, signature byte; RFC 5246 §7.4.1.4.1) are spelled out.
pub(super) fn signature_scheme(v: u16) -> String {
    let scheme = SignatureScheme::from_u16(v);
    match scheme.tls12_hash_and_signature() {
        Some((hash, signature)) => format!(
            "{signature} with {hash} (0x{v:04x}): a TLS 1.2 hash/signature pair (RFC 5246 \
             §7.4.1.4.1) with no TLS 1.3 name; never used for a TLS 1.3 CertificateVerify"
        ),
        None => code_point(scheme.name(), v, 4),
    }
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
