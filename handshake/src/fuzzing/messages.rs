//! The `client_messages` and `server_messages` entry points: the fuzzer writes the peer's
//! *plaintext* handshake messages, and a `Peer` that follows the key schedule frames and
//! encrypts them under the keys the connection under test expects, so that mutations get
//! past the AEAD and reach the parsing and checks of every state (EncryptedExtensions,
//! CertificateRequest, Certificate, CertificateVerify, Finished, NewSessionTicket and
//! KeyUpdate on the client; Certificate, CertificateVerify, Finished and KeyUpdate on the
//! server), which the byte-level `client` and `server` targets reach only through
//! ciphertext they cannot forge.
//!
//! # Input format
//!
//! ```text
//! input   = options item*
//! options = one byte, as for `client` and `server` (see the module docs of `fuzzing`):
//!           the variant of the connection under test, the hierarchy, the PSK offer
//! item    = kind (u8) || length (u16, big-endian) || that many bytes of body
//!           (a final item may be shorter than its length says)
//! kind    = modulo 6:
//!           0 handshake: the body (whole messages with their 4-byte headers, or
//!             fragments) as one handshake record
//!           1 the same, with computed fields: in every whole message, the binders of a
//!             ClientHello's pre_shared_key (RFC 8446 §4.2.11.2), the signature of a
//!             CertificateVerify (§4.4.3, under the scheme it names, with the peer's key
//!             of the hierarchy) and the verify_data of a 32-byte Finished (§4.4.4)
//!             are replaced by the right values
//!           2 alert: the body as one alert record
//!           3 change_cipher_spec: the body as one change_cipher_spec record, never
//!             protected (§5)
//!           4 application data: the body as one application_data record
//!           5 raw: the body delivered as it is, no framing
//! ```
//!
//! Each item is one [`Connection::process`](crate::Connection::process) call. Records are
//! protected (§5.2, no padding) once the peer has write keys and plaintext before;
//! bodies over 2^14 bytes become several records. The peer's keys follow the messages
//! both ways (see the `peer` module): handshake keys after a ServerHello, from the peer's
//! fixed x25519 key ([`super::PEER_X25519_KEY`], whose public key the fuzzer's ServerHello
//! or ClientHello must carry) and the selected PSK (the external [`super::PSK_IDENTITY`],
//! or a ticket sealed under [`super::TICKET_KEY`]); application keys after the server's
//! Finished; the next keys after a KeyUpdate. The peer plays the server for
//! [`client_messages`] (signing with the hierarchy's server key) and the client for
//! [`server_messages`] (signing with the client key).

use super::peer::{Peer, plaintext};
use super::{Outcome, Run, Setup, client_connection, server_connection};
use crate::auth::Side;
use crate::conn::Connection;
use crate::msgs::enums::ContentType;
use crate::states::ClientState;

/// One item of the input (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    /// Handshake bytes, sent as they are.
    Handshake(&'a [u8]),
    /// Handshake messages whose binders, signature or verify_data the peer computes.
    Computed(&'a [u8]),
    /// An alert record's content.
    Alert(&'a [u8]),
    /// A change_cipher_spec record's content.
    ChangeCipherSpec(&'a [u8]),
    /// An application_data record's content.
    ApplicationData(&'a [u8]),
    /// Bytes delivered without framing.
    Raw(&'a [u8]),
}

impl<'a> Item<'a> {
    /// The kind byte that encodes this item.
    pub fn kind(&self) -> u8 {
        match self {
            Self::Handshake(_) => 0,
            Self::Computed(_) => 1,
            Self::Alert(_) => 2,
            Self::ChangeCipherSpec(_) => 3,
            Self::ApplicationData(_) => 4,
            Self::Raw(_) => 5,
        }
    }

    /// The item's body.
    pub fn body(&self) -> &'a [u8] {
        match *self {
            Self::Handshake(b)
            | Self::Computed(b)
            | Self::Alert(b)
            | Self::ChangeCipherSpec(b)
            | Self::ApplicationData(b)
            | Self::Raw(b) => b,
        }
    }

    /// Appends the item in the input format; a body over 65 535 bytes is cut there.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let body = self.body();
        let body = &body[..body.len().min(usize::from(u16::MAX))];
        out.push(self.kind());
        // At most u16::MAX bytes, as cut above.
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(body);
    }
}

/// The items of an input after its options byte.
#[derive(Clone, Debug)]
pub struct Items<'a> {
    rest: &'a [u8],
}

impl<'a> Items<'a> {
    /// The items of `input` (without the options byte).
    pub fn new(input: &'a [u8]) -> Self {
        Self { rest: input }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = Item<'a>;

    fn next(&mut self) -> Option<Item<'a>> {
        let (&kind, rest) = self.rest.split_first()?;
        let (len, rest) = match *rest {
            [hi, lo, ref body @ ..] => (usize::from(u16::from_be_bytes([hi, lo])), body),
            _ => (rest.len(), rest),
        };
        let (body, rest) = rest.split_at(len.min(rest.len()));
        self.rest = rest;
        Some(match kind % 6 {
            0 => Item::Handshake(body),
            1 => Item::Computed(body),
            2 => Item::Alert(body),
            3 => Item::ChangeCipherSpec(body),
            4 => Item::ApplicationData(body),
            _ => Item::Raw(body),
        })
    }
}

/// Feeds the plaintext server messages of `input` to a client connection (see the module
/// docs).
pub fn client_messages(setup: &Setup, input: &[u8]) -> Outcome {
    let Some((&options, items)) = input.split_first() else {
        return Outcome::empty(ClientState::Start.into());
    };
    match client_connection(setup, options) {
        Ok(conn) => {
            let identity = setup.configs(options).servers[0].identity.clone();
            drive(conn, Peer::new(Side::Server, identity), Items::new(items))
        }
        Err(e) => Outcome {
            error: Some(e),
            ..Outcome::empty(ClientState::Start.into())
        },
    }
}

/// Feeds the plaintext client messages of `input` to a server connection (see the module
/// docs).
pub fn server_messages(setup: &Setup, input: &[u8]) -> Outcome {
    let Some((&options, items)) = input.split_first() else {
        return Outcome::empty(crate::states::ServerState::Start.into());
    };
    let conn = server_connection(setup, options);
    let identity = setup.configs(options).clients[1].identity.clone();
    drive(conn, Peer::new(Side::Client, identity), Items::new(items))
}

/// Delivers each item, framed by `peer`, and lets `peer` read every answer.
fn drive(conn: Connection, mut peer: Peer, items: Items<'_>) -> Outcome {
    let mut run = Run::start(conn);
    peer.read(&run.out);
    let mut read = run.out.len();
    let mut record = Vec::new();
    for item in items {
        record.clear();
        match item {
            Item::Handshake(body) => peer.handshake(body, false, &mut record),
            Item::Computed(body) => peer.handshake(body, true, &mut record),
            Item::Alert(body) => peer.protect(ContentType::Alert, body, &mut record),
            Item::ChangeCipherSpec(body) => {
                plaintext(ContentType::ChangeCipherSpec, body, &mut record);
            }
            Item::ApplicationData(body) => {
                peer.protect(ContentType::ApplicationData, body, &mut record);
            }
            Item::Raw(body) => record.extend_from_slice(body),
        }
        if !run.deliver(&record) {
            break;
        }
        peer.read(&run.out[read..]);
        read = run.out.len();
    }
    run.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_read_what_encode_writes() {
        let items = [
            Item::Handshake(b"\x08\x00\x00\x02\x00\x00"),
            Item::Computed(b""),
            Item::Alert(&[1, 0]),
            Item::ChangeCipherSpec(&[1]),
            Item::ApplicationData(b"data"),
            Item::Raw(b"raw"),
        ];
        let mut input = Vec::new();
        for item in &items {
            item.encode(&mut input);
        }
        assert_eq!(Items::new(&input).collect::<Vec<_>>(), items);
    }

    #[test]
    fn a_short_final_item_keeps_its_bytes() {
        assert_eq!(Items::new(&[6]).collect::<Vec<_>>(), [Item::Handshake(b"")]);
        assert_eq!(
            Items::new(&[4, 9]).collect::<Vec<_>>(),
            [Item::ApplicationData(&[9])]
        );
        assert_eq!(
            Items::new(&[2, 0, 5, 1, 2]).collect::<Vec<_>>(),
            [Item::Alert(&[1, 2])]
        );
    }
}
