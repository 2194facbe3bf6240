//! Seeds of the `client_messages` and `server_messages` targets, recorded from the same
//! real connections as the `client` and `server` seeds ([`super::seeds`]).
//!
//! Each seed is the options byte of the connection under test followed by the plaintext
//! handshake messages its peer sent, one item each, in the format of
//! [`super::messages`]. Two changes make them replay under the entry point's peer: the
//! x25519 key_share of the peer's ServerHello or ClientHello becomes the peer's fixed
//! public key ([`super::peer_x25519_public`]), and the messages whose contents follow from
//! the keys (a ClientHello offering a PSK, CertificateVerify, Finished) are items with
//! computed fields. Application data, the KeyUpdate and close_notify follow as the
//! recorded connection had them.

use super::Setup;
use super::messages::Item;
use super::peer_x25519_public;
use super::seeds::{Seed, Transcript, record, record_resumption, seed_name};
use crate::error::Error;
use crate::msgs::enums::NamedGroup;
use crate::msgs::{Extension, HandshakeMessage};

/// Handshake message types (RFC 8446 §4) that get special treatment here.
const CLIENT_HELLO: u8 = 1;
const SERVER_HELLO: u8 = 2;
const CERTIFICATE_VERIFY: u8 = 15;
const FINISHED: u8 = 20;
const KEY_UPDATE: u8 = 24;

/// The data the recorded server sends around its KeyUpdate, and the client's.
const SERVER_DATA: [&[u8]; 2] = [b"hello from the server", b"after the key update"];
const CLIENT_DATA: &[u8] = b"hello from the client";

/// close_notify (RFC 8446 §6.1): warning(1), close_notify(0).
const CLOSE_NOTIFY: [u8; 2] = [1, 0];

/// Every `client_messages` and `server_messages` seed: each client variant against each
/// server policy (both certificate paths, with and without HelloRetryRequest), the
/// external PSK with and without HelloRetryRequest, and a resumption;
/// named as the `client` and `server` seeds are.
pub fn message_seeds(setup: &Setup) -> Result<Vec<Seed>, Error> {
    let mut seeds = Vec::new();
    for hierarchy in 0..setup.hierarchies().min(2) {
        let h = (hierarchy as u8) << 2;
        for client_variant in 0..4u8 {
            for policy in 0..3u8 {
                if policy == 2 && client_variant % 2 == 0 {
                    continue;
                }
                let t = record(setup, h | client_variant, h | policy)?;
                let name = seed_name(hierarchy, client_variant, policy);
                push_pair(&mut seeds, &name, h | client_variant, h | policy, &t)?;
            }
        }
        for (variant, name) in [(0u8, "psk"), (2, "psk-hrr")] {
            let t = record(setup, h | 8 | variant, h | 3)?;
            let name = format!("h{hierarchy}-{name}-auth-off");
            push_pair(&mut seeds, &name, h | 8 | variant, h | 3, &t)?;
        }
        let name = format!("h{hierarchy}-resumption-auth-off");
        // Option bit 4: the client offers the session it earned from server variant 3.
        let t = record(setup, h | 16, h | 3)?;
        seeds.push(client_seed(&name, h | 16, &t)?);
        let t = record_resumption(setup, h)?;
        seeds.push(server_seed(&name, h | 3, &t)?);
    }
    Ok(seeds)
}

fn push_pair(
    seeds: &mut Vec<Seed>,
    name: &str,
    client_options: u8,
    server_options: u8,
    t: &Transcript,
) -> Result<(), Error> {
    seeds.push(client_seed(name, client_options, t)?);
    seeds.push(server_seed(name, server_options, t)?);
    Ok(())
}

/// The server's messages as a `client_messages` input, with its application data around
/// its KeyUpdate and close_notify at the end.
fn client_seed(name: &str, options: u8, t: &Transcript) -> Result<Seed, Error> {
    let mut messages = Vec::new();
    for m in &t.server_messages {
        messages.push(with_peer_share(m)?);
    }
    let mut bytes = vec![options];
    let mut data = SERVER_DATA.iter();
    for m in &messages {
        if m[0] == KEY_UPDATE
            && let Some(d) = data.next()
        {
            Item::ApplicationData(d).encode(&mut bytes);
        }
        item(m).encode(&mut bytes);
    }
    for d in data {
        Item::ApplicationData(d).encode(&mut bytes);
    }
    Item::Alert(&CLOSE_NOTIFY).encode(&mut bytes);
    Ok(Seed {
        target: "client_messages",
        name: name.to_owned(),
        bytes,
    })
}

/// The client's messages as a `server_messages` input, then its application data and
/// close_notify.
fn server_seed(name: &str, options: u8, t: &Transcript) -> Result<Seed, Error> {
    let mut bytes = vec![options];
    for m in &t.client_messages {
        let m = with_peer_share(m)?;
        item(&m).encode(&mut bytes);
    }
    Item::ApplicationData(CLIENT_DATA).encode(&mut bytes);
    Item::Alert(&CLOSE_NOTIFY).encode(&mut bytes);
    Ok(Seed {
        target: "server_messages",
        name: name.to_owned(),
        bytes,
    })
}

/// The item that carries `m`: computed fields for what follows from the keys.
fn item(m: &[u8]) -> Item<'_> {
    let offers_psk = m[0] == CLIENT_HELLO
        && matches!(HandshakeMessage::decode(m), Ok(HandshakeMessage::ClientHello(ch))
            if ch.extensions.offered_psks().is_some());
    if offers_psk || m[0] == CERTIFICATE_VERIFY || m[0] == FINISHED {
        Item::Computed(m)
    } else {
        Item::Handshake(m)
    }
}

/// `m` with its x25519 key_share replaced by the peer's public key (a ServerHello, or the
/// non-empty shares of a ClientHello); other messages unchanged.
fn with_peer_share(m: &[u8]) -> Result<Vec<u8>, Error> {
    if m[0] != CLIENT_HELLO && m[0] != SERVER_HELLO {
        return Ok(m.to_vec());
    }
    let public = peer_x25519_public().to_vec();
    let mut msg = HandshakeMessage::decode(m)?;
    let extensions = match &mut msg {
        HandshakeMessage::ClientHello(ch) => &mut ch.extensions.0,
        HandshakeMessage::ServerHello(sh) => &mut sh.extensions.0,
        _ => return Ok(m.to_vec()),
    };
    for ext in extensions.iter_mut() {
        match ext {
            Extension::KeyShareServerHello(entry) => entry.key_exchange = public.clone(),
            Extension::KeyShareClientHello(entries) => {
                for entry in entries.iter_mut() {
                    if entry.group == NamedGroup::X25519 && !entry.key_exchange.is_empty() {
                        entry.key_exchange = public.clone();
                    }
                }
            }
            _ => {}
        }
    }
    Ok(msg.to_bytes()?)
}
