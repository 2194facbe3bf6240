//! ClientHello (RFC 8446 §4.1.2), ServerHello and HelloRetryRequest (§4.1.3, §4.1.4),
//! EncryptedExtensions (§4.3.1).

use handshake::msgs::enums::{CipherSuite, ExtensionContext, ProtocolVersion};

use super::code_point;
use super::cursor::Cursor;
use super::extensions::extensions;

/// RFC 8446 §4.1.3: the last 8 bytes of a TLS 1.3 server's random when it negotiates
/// TLS 1.2 ("DOWNGRD" then 01) or below ("DOWNGRD" then 00).
const DOWNGRADE_PREFIX: &[u8] = b"DOWNGRD";

pub(super) fn client_hello(c: &mut Cursor<'_>) -> Option<()> {
    legacy_version(c, "ClientHello")?;
    c.leaf(32, "random", |_| {
        "32 bytes from a secure random generator (§4.1.2): makes every transcript, and so \
         every key, unique; key logs are indexed by it"
            .into()
    })?;
    c.opaque(1, "legacy_session_id", |id| match id.len() {
        0 => "no session to resume (a TLS 1.2 notion)".into(),
        32 => "32 random bytes: middlebox compatibility mode (§D.4); the server echoes them, \
               so the exchange looks like a TLS 1.2 resumption to middleboxes"
            .into(),
        n => format!("{n} bytes: a TLS 1.2 session id (§4.1.2); echoed by the server"),
    })?;
    c.vector(
        2,
        "cipher_suites",
        |list| {
            format!(
                "{} suite(s) the client offers, most preferred first: AEAD and HKDF hash \
                 pairs (§4.1.2, §B.4)",
                list.len() / 2
            )
        },
        |c| {
            while c.remaining() >= 2 {
                c.uint(2, "cipher_suite", |v| cipher_suite(v as u16))?;
            }
            Some(())
        },
    )?;
    c.opaque(1, "legacy_compression_methods", |methods| {
        if methods == [0] {
            "null (0) only, as TLS 1.3 requires (§4.1.2)".into()
        } else {
            "a TLS 1.3 ClientHello must carry exactly one byte, 0 (null); a server aborts \
             with illegal_parameter (§4.1.2)"
                .into()
        }
    })?;
    extensions(c, ExtensionContext::ClientHello)
}

/// A ServerHello, or (`hrr`) a HelloRetryRequest, which has the same layout.
pub(super) fn server_hello(c: &mut Cursor<'_>, hrr: bool) -> Option<()> {
    let name = if hrr {
        "HelloRetryRequest"
    } else {
        "ServerHello"
    };
    legacy_version(c, name)?;
    c.leaf(32, "random", |random| {
        if hrr {
            "SHA-256(\"HelloRetryRequest\"): this fixed value, not a fresh random, marks the \
             message as a HelloRetryRequest (§4.1.3)"
                .into()
        } else {
            server_random(random)
        }
    })?;
    c.opaque(1, "legacy_session_id_echo", |_| {
        "the client's legacy_session_id, echoed (§4.1.3)".into()
    })?;
    c.uint(2, "cipher_suite", |v| {
        let suite = CipherSuite::from_u16(v as u16);
        format!(
            "the suite the server chose: {}",
            code_point(suite.name(), v as u16, 4)
        )
    })?;
    c.uint(1, "legacy_compression_method", |v| {
        if v == 0 {
            "null (0), as TLS 1.3 requires (§4.1.3)".into()
        } else {
            format!("{v}: must be 0 in TLS 1.3 (§4.1.3)")
        }
    })?;
    let context = if hrr {
        ExtensionContext::HelloRetryRequest
    } else {
        ExtensionContext::ServerHello
    };
    extensions(c, context)
}

pub(super) fn encrypted_extensions(c: &mut Cursor<'_>) -> Option<()> {
    extensions(c, ExtensionContext::EncryptedExtensions)
}

fn legacy_version(c: &mut Cursor<'_>, message: &str) -> Option<u32> {
    c.uint(2, "legacy_version", |v| {
        let version = ProtocolVersion::from_u16(v as u16);
        if version == ProtocolVersion::Tls12 {
            format!(
                "0x0303 ({version}), frozen for compatibility: the real version is \
                 negotiated in supported_versions (§4.1.2, §4.2.1)"
            )
        } else {
            format!("0x{v:04x} ({version}): a TLS 1.3 {message} always says 0x0303 (TLS 1.2)")
        }
    })
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
pub(super) fn cipher_suite(value: u16) -> String {
    let suite = CipherSuite::from_u16(value);
    let named = code_point(suite.name(), value, 4);
    if handshake::SupportedSuite::from_suite(suite).is_some() {
        format!("{named}, a suite keylab implements")
    } else {
        named
    }
}
