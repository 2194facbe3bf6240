//! ClientHello (RFC 8446 §4.1.2), ServerHello and HelloRetryRequest (§4.1.3, §4.1.4): what
//! their fields mean. EncryptedExtensions (§4.3.1) is only an extension block.

use handshake::msgs::enums::{CipherSuite, ProtocolVersion};

use super::{Kind, code_point, uint};

/// RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates
/// TLS 1.2 ("DOWNGRD" then 01) or below ("DOWNGRD" then 00).
const DOWNGRADE_PREFIX: &[u8] = b"DOWNGRD";

/// The meaning of a hello field the codec read as `what`.
pub(super) fn meaning(kind: Kind, what: &str, bytes: &[u8]) -> Option<String> {
    let v = uint(bytes);
    Some(match what {
        "ClientHello.legacy_version" | "ServerHello.legacy_version" => {
            legacy_version(v as u16, kind.name())
        }
        "ClientHello.random" => "32 bytes from a secure random generator (§4.1.2): makes every \
            transcript, and so every key, unique; key logs are indexed by it"
            .into(),
        "ServerHello.random" if kind.retry => "SHA-256(\"HelloRetryRequest\"): this fixed \
            value, not a fresh random, marks the message as a HelloRetryRequest (§4.1.3)"
            .into(),
        "ServerHello.random" => server_random(bytes),
        "ClientHello.legacy_session_id" => match bytes.len() {
            0 => "no session to resume (a TLS 1.2 notion)".into(),
            32 => "32 random bytes: middlebox compatibility mode (§D.4); the server echoes \
                   them, so the exchange looks like a TLS 1.2 resumption to middleboxes"
                .into(),
            n => format!("{n} bytes: a TLS 1.2 session id (§4.1.2); echoed by the server"),
        },
        "ServerHello.legacy_session_id_echo" => {
            "the client's legacy_session_id, echoed (§4.1.3)".into()
        }
        "CipherSuite" => cipher_suite(v as u16),
        "ServerHello.cipher_suite" => format!(
            "the suite the server chose: {}",
            code_point(CipherSuite::from_u16(v as u16).name(), v as u16, 4)
        ),
        "ClientHello.legacy_compression_methods" => {
            if bytes == [0] {
                "null (0) only, as TLS 1.3 requires (§4.1.2)".into()
            } else {
                "a TLS 1.3 ClientHello must carry exactly one byte, 0 (null); a server \
                 aborts with illegal_parameter (§4.1.2)"
                    .into()
            }
        }
        "ServerHello.legacy_compression_method" => {
            if v == 0 {
                "null (0), as TLS 1.3 requires (§4.1.3)".into()
            } else {
                format!("{v}: must be 0 in TLS 1.3 (§4.1.3)")
            }
        }
        _ => return None,
    })
}

/// The meaning of a hello vector the codec read as `what`.
pub(super) fn group_meaning(what: &str, contents: &[u8]) -> Option<String> {
    match what {
        "ClientHello.cipher_suites" => Some(format!(
            "{} suite(s) the client offers, most preferred first: AEAD and HKDF hash pairs \
             (§4.1.2, §B.4)",
            contents.len() / 2
        )),
        _ => None,
    }
}

fn legacy_version(v: u16, message: &str) -> String {
    let version = ProtocolVersion::from_u16(v);
    if version == ProtocolVersion::Tls12 {
        format!(
            "0x0303 ({version}), frozen for compatibility: the real version is negotiated in \
             supported_versions (§4.1.2, §4.2.1)"
        )
    } else {
        format!("0x{v:04x} ({version}): a TLS 1.3 {message} always says 0x0303 (TLS 1.2)")
    }
}

fn server_random(random: &[u8]) -> String {
    let tail = random.get(24..31);
    let last = random.last().copied().unwrap_or_default();
    if tail == Some(DOWNGRADE_PREFIX) {
        let below = if last == 1 {
            "TLS 1.2"
        } else {
            "TLS 1.1 or below"
        };
        format!(
            "32 random bytes ending in \"DOWNGRD\": a TLS 1.3 server negotiating {below} says \
             so, and a TLS 1.3 client refuses (downgrade protection, §4.1.3)"
        )
    } else {
        "32 bytes from the server's secure random generator (§4.1.3)".into()
    }
}

/// A cipher suite's name and value, with a word on whether keylab implements it.
fn cipher_suite(value: u16) -> String {
    let suite = CipherSuite::from_u16(value);
    let named = code_point(suite.name(), value, 4);
    if handshake::SupportedSuite::from_suite(suite).is_some() {
        format!("{named}, a suite keylab implements")
    } else {
        named
    }
}
