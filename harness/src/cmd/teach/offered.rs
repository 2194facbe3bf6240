//! What a browser offered in its ClientHello, from the handshake crate's decoded message:
//! cipher suites, groups and key shares, GREASE values (RFC 8701), the extensions keylab
//! does not implement, and ALPN (RFC 7301), each with what keylab made of it.

use std::fmt::Write as _;

use handshake::msgs::enums::{CipherSuite, NamedGroup};
use handshake::msgs::extension_type::ExtensionType;
use handshake::msgs::{ClientHello, Extension, HandshakeMessage};
use handshake::{Summary, SupportedGroup, SupportedSuite};
use serde::Serialize;

use crate::observe::Observed;

/// One offered code point.
#[derive(Clone, Debug, Serialize)]
pub struct Item {
    /// The wire value, e.g. `0x11ec`.
    pub code: String,
    /// Its name, e.g. `X25519MLKEM768`.
    pub name: String,
    /// What keylab does with it.
    pub note: String,
}

/// The browser's offer and keylab's answer.
#[derive(Clone, Debug, Serialize)]
pub struct Offered {
    /// ClientHello.random (hex): the page shows it, `/explain.json` has it.
    pub client_random: String,
    /// cipher_suites in the browser's order.
    pub cipher_suites: Vec<Item>,
    /// supported_groups in the browser's order.
    pub groups: Vec<Item>,
    /// The groups it sent key shares for.
    pub key_shares: Vec<Item>,
    /// GREASE values (RFC 8701) anywhere in the hello.
    pub grease: Vec<String>,
    /// Extensions keylab does not implement and ignores (RFC 8446 §4.2: a server
    /// ignores extensions it does not recognise).
    pub ignored_extensions: Vec<Item>,
    /// The ALPN protocols offered (RFC 7301 §3.1), in order, as text: printable ASCII as
    /// is, any other byte as `\xNN` (so distinct names stay distinct).
    pub alpn: Vec<String>,
    /// The protocol keylab chose (same form), if it answered ALPN.
    pub alpn_chosen: Option<String>,
    /// Why that protocol, in a sentence or two.
    pub alpn_choice: String,
    /// The server name asked for (SNI).
    pub server_name: Option<String>,
    /// Why keylab chose its group, in a sentence.
    pub group_choice: String,
}

/// RFC 8701 §2: GREASE values are 0x?A?A with both bytes equal.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && v >> 8 == v & 0xff
}

/// The offer in the first ClientHello `observed` recorded, if it decodes.
pub fn from_observed(observed: &Observed, summary: Option<&Summary>) -> Option<Offered> {
    let bytes = &observed
        .messages
        .iter()
        .find(|m| m.from_client && m.name == "ClientHello")?
        .bytes;
    match HandshakeMessage::decode(bytes).ok()? {
        HandshakeMessage::ClientHello(ch) => Some(offered(&ch, summary)),
        _ => None,
    }
}

fn offered(ch: &ClientHello, summary: Option<&Summary>) -> Offered {
    let mut grease = Vec::new();
    let mut note_grease = |what: &str, v: u16| {
        let ok = is_grease(v);
        if ok {
            grease.push(format!("{what} 0x{v:04x}"));
        }
        ok
    };
    let cipher_suites = ch
        .cipher_suites
        .iter()
        .map(|s| suite_item(*s, note_grease("cipher suite", s.to_u16()), summary))
        .collect();
    let groups: Vec<Item> = ch
        .extensions
        .supported_groups()
        .unwrap_or_default()
        .iter()
        .map(|g| group_item(*g, note_grease("group", g.to_u16()), summary))
        .collect();
    let key_shares = ch
        .extensions
        .client_key_shares()
        .unwrap_or_default()
        .iter()
        .map(|k| {
            let mut item = group_item(k.group, is_grease(k.group.to_u16()), summary);
            item.note = format!(
                "{} bytes of key_exchange; {}",
                k.key_exchange.len(),
                item.note
            );
            item
        })
        .collect::<Vec<_>>();
    let mut ignored_extensions = Vec::new();
    for ext in &ch.extensions.0 {
        let typ = ext.ext_type();
        if note_grease("extension", typ.to_u16()) {
            continue;
        }
        if let Extension::Unknown { bytes, .. } = ext {
            ignored_extensions.push(Item {
                code: format!("0x{:04x}", typ.to_u16()),
                name: extension_name(typ),
                note: format!(
                    "{} bytes, not implemented by keylab: ignored (RFC 8446 §4.2)",
                    bytes.len()
                ),
            });
        }
    }
    for v in ch.extensions.client_versions().unwrap_or_default() {
        note_grease("supported_versions", v.to_u16());
    }
    for s in ch.extensions.signature_algorithms().unwrap_or_default() {
        note_grease("signature_algorithms", s.to_u16());
    }
    let server_name = ch.extensions.server_names().and_then(|names| {
        names
            .iter()
            .find_map(|n| n.as_host_name().map(str::to_owned))
    });
    let offered_alpn = ch.extensions.alpn().unwrap_or_default();
    Offered {
        client_random: hex::encode(ch.random),
        alpn: offered_alpn.iter().map(|n| alpn_name(n)).collect(),
        alpn_chosen: summary.and_then(|s| s.alpn.as_deref()).map(alpn_name),
        alpn_choice: alpn_choice(offered_alpn, summary),
        cipher_suites,
        group_choice: group_choice(ch, summary),
        groups,
        key_shares,
        grease,
        ignored_extensions,
        server_name,
    }
}

fn suite_item(s: CipherSuite, grease: bool, summary: Option<&Summary>) -> Item {
    let note = if grease {
        "GREASE (RFC 8701): a reserved value that keeps servers honest about ignoring unknown ones"
            .into()
    } else if summary.is_some_and(|x| x.cipher_suite == s) {
        "chosen: keylab's most preferred suite among those offered (the server's order decides, RFC 8446 §4.1.1)".into()
    } else if SupportedSuite::from_suite(s).is_some() {
        "implemented by keylab, not chosen".into()
    } else if s.name().is_some() {
        "a TLS 1.3 suite keylab does not implement".into()
    } else {
        "a TLS 1.2 suite: ignored, keylab speaks TLS 1.3 only".into()
    };
    Item {
        code: format!("0x{:04x}", s.to_u16()),
        name: s
            .name()
            .map_or_else(|| format!("0x{:04x}", s.to_u16()), str::to_owned),
        note,
    }
}

fn group_item(g: NamedGroup, grease: bool, summary: Option<&Summary>) -> Item {
    let v = g.to_u16();
    let note = if grease {
        "GREASE (RFC 8701)".to_owned()
    } else if summary.is_some_and(|x| x.group == Some(g)) {
        "chosen".to_owned()
    } else if SupportedGroup::ALL.iter().any(|s| s.group() == g) {
        "implemented by keylab, not chosen".to_owned()
    } else if is_hybrid(v) {
        "a hybrid post-quantum group (ML-KEM with ECDH, draft-ietf-tls-ecdhe-mlkem): keylab does not implement ML-KEM".to_owned()
    } else {
        "not implemented by keylab".to_owned()
    };
    Item {
        code: format!("0x{v:04x}"),
        name: group_name(g),
        note,
    }
}

fn is_hybrid(v: u16) -> bool {
    matches!(v, 0x11eb..=0x11ed | 0x6399)
}

/// The group's name, including the hybrid groups browsers send (IANA TLS Supported Groups).
pub fn group_name(g: NamedGroup) -> String {
    let v = g.to_u16();
    let name = match v {
        0x11eb => "SecP256r1MLKEM768",
        0x11ec => "X25519MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        _ if is_grease(v) => "GREASE",
        _ => return g.name().map_or_else(|| format!("0x{v:04x}"), str::to_owned),
    };
    name.to_owned()
}

/// Names of extensions browsers send that keylab's table does not know.
fn extension_name(t: ExtensionType) -> String {
    let v = t.to_u16();
    let name = match v {
        11 => "ec_point_formats",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        34 => "delegated_credential",
        17513 | 17613 => "application_settings",
        0xfe0d => "encrypted_client_hello",
        _ => return t.name().map_or_else(|| format!("0x{v:04x}"), str::to_owned),
    };
    name.to_owned()
}

/// An ALPN ProtocolName (RFC 7301 §3.1) as text: printable ASCII as is, other bytes
/// escaped.
fn alpn_name(name: &[u8]) -> String {
    name.escape_ascii().to_string()
}

/// What keylab made of the browser's ALPN offer (RFC 7301 §3.2), given the names offered
/// (as the handshake crate decoded them) and the completed handshake's summary.
fn alpn_choice(offered: &[Vec<u8>], summary: Option<&Summary>) -> String {
    if offered.is_empty() {
        return "The browser offered no ALPN (RFC 7301), so keylab answered none; HTTP/1.1 \
                is what a browser speaks then."
            .into();
    }
    let Some(s) = summary else {
        return "the handshake did not complete".into();
    };
    let Some(chosen) = &s.alpn else {
        return "keylab did not answer ALPN: without an answer the browser assumes HTTP/1.1."
            .into();
    };
    let mut text = format!(
        "keylab chose {}: RFC 7301 §3.2 has the server pick the protocol it prefers among \
         those the client offered, and keylab teach speaks only HTTP/1.1; its answer went \
         back in EncryptedExtensions, encrypted.",
        handshake::error::alpn_text(chosen)
    );
    for name in offered.iter().filter(|n| *n != chosen) {
        let why = match name.as_slice() {
            b"h2" => " (HTTP/2, RFC 9113) was offered too, but keylab does not implement HTTP/2",
            b"h3" => " (HTTP/3) runs over QUIC, not TLS over TCP",
            _ => " was offered too; keylab does not speak it",
        };
        let _ = write!(text, " {}{why}.", handshake::error::alpn_text(name));
    }
    text
}

fn group_choice(ch: &ClientHello, summary: Option<&Summary>) -> String {
    let Some(s) = summary else {
        return "the handshake did not complete".into();
    };
    let Some(chosen) = s.group else {
        return "no (EC)DHE group: the psk_ke path uses the pre-shared key alone".into();
    };
    let shares: Vec<String> = ch
        .extensions
        .client_key_shares()
        .unwrap_or_default()
        .iter()
        .filter(|k| !is_grease(k.group.to_u16()))
        .map(|k| group_name(k.group))
        .collect();
    let mut text = format!(
        "The browser sent key shares for {}. keylab implements x25519 and secp256r1 only \
         (no ML-KEM), so it chose {} ",
        shares.join(" and "),
        group_name(chosen)
    );
    if s.hello_retry {
        text.push_str(
            "after a HelloRetryRequest: no key share the browser sent was for a group keylab \
             implements, so it asked for one (RFC 8446 §4.1.4).",
        );
    } else {
        let _ = write!(
            text,
            "from the shares already there: the first group in keylab's order of preference \
             with a key share, so no HelloRetryRequest was needed (RFC 8446 §4.2.8)."
        );
    }
    text
}

/// The offer as an HTML section placed before the explanation.
pub fn html_section(o: &Offered, id: u64, token: &str, request_line: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let list = |items: &[Item]| {
        let mut h = String::from("<ul>\n");
        for i in items {
            let _ = writeln!(
                h,
                "<li><code>{}</code> {} — {}</li>",
                esc(&i.code),
                esc(&i.name),
                esc(&i.note)
            );
        }
        h.push_str("</ul>\n");
        h
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<section class=\"run\" id=\"offered\">\n<h2>What your browser offered</h2>\n\
         <p>This page explains connection <strong id=\"connection-id\">{id}</strong>, the one \
         that delivered it, up to the request <code id=\"request-line\">{}</code>. The whole \
         model, with the records that carried this page: \
         <a href=\"/explain.json?c={id}&amp;t={token}\">/explain.json?c={id}&amp;t={token}</a> \
         (the token makes it yours alone: the model holds this connection's secrets).</p>\n\
         <p>Client random: <code id=\"client-random\">{}</code></p>\n",
        esc(request_line),
        esc(&o.client_random)
    );
    if let Some(sni) = &o.server_name {
        let _ = writeln!(h, "<p>Server name (SNI): <code>{}</code></p>", esc(sni));
    }
    let _ = write!(
        h,
        "<h3>Groups</h3>\n<p id=\"group-choice\">{}</p>\n{}<h3>Key shares</h3>\n{}\
         <h3>Cipher suites</h3>\n{}",
        esc(&o.group_choice),
        list(&o.groups),
        list(&o.key_shares),
        list(&o.cipher_suites)
    );
    let _ = write!(
        h,
        "<h3>GREASE</h3>\n<p>Reserved values (RFC 8701) a browser sprinkles in so that servers \
         which choke on unknown values are found early; keylab ignores them: {}.</p>\n\
         <h3>Extensions keylab ignores</h3>\n{}<h3>ALPN</h3>\n<p>Offered (RFC 7301 §3.1, most \
         preferred first): {}. Chosen: <code id=\"alpn-chosen\">{}</code>.</p>\n\
         <p id=\"alpn-choice\">{}</p>\n</section>\n",
        if o.grease.is_empty() {
            "none".to_owned()
        } else {
            esc(&o.grease.join(", "))
        },
        list(&o.ignored_extensions),
        if o.alpn.is_empty() {
            "nothing".to_owned()
        } else {
            esc(&o.alpn.join(", "))
        },
        esc(o.alpn_chosen.as_deref().unwrap_or("none")),
        esc(&o.alpn_choice)
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grease_values_are_recognised() {
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && is_grease(0x3a3a));
        assert!(!is_grease(0x0a1a) && !is_grease(0x001d) && !is_grease(0x11ec));
    }

    #[test]
    fn the_alpn_choice_is_explained() {
        let offered = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        assert!(alpn_choice(&[], None).contains("offered no ALPN"));
        assert!(alpn_choice(&offered, None).contains("did not complete"));
        assert_eq!(alpn_name(b"h\x00\"2"), "h\\x00\\\"2");
    }

    #[test]
    fn hybrid_groups_have_names() {
        assert_eq!(group_name(NamedGroup::from_u16(0x11ec)), "X25519MLKEM768");
        assert_eq!(group_name(NamedGroup::X25519), "x25519");
    }
}
