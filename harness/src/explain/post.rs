//! Finished (RFC 8446 §4.4.4), the post-handshake messages NewSessionTicket (§4.6.1) and
//! KeyUpdate (§4.6.3), EndOfEarlyData (§4.5) and the synthetic message_hash (§4.4.1).

use handshake::Side;
use handshake::msgs::enums::ExtensionContext;

use super::cursor::Cursor;
use super::extensions::extensions;
use super::who;

pub(super) fn finished_summary(sender: Option<Side>) -> String {
    format!(
        "the {}'s MAC over the whole handshake so far: proves it saw the same transcript and \
         holds the handshake traffic secret (§4.4.4)",
        who(sender)
    )
}

pub(super) fn finished(
    c: &mut Cursor<'_>,
    sender: Option<Side>,
    transcript_before: Option<&str>,
) -> Option<()> {
    let (secret, transcript) = match sender {
        // The PSK paths have no server CertificateVerify: there the MAC covers
        // ClientHello..EncryptedExtensions.
        Some(Side::Server) => (
            "server_handshake_traffic_secret",
            "ClientHello..server CertificateVerify, or ..EncryptedExtensions on the PSK paths",
        ),
        Some(Side::Client) => (
            "client_handshake_traffic_secret",
            "ClientHello..server Finished, plus the client's Certificate and CertificateVerify \
             if sent",
        ),
        None => (
            "the sender's handshake traffic secret",
            "ClientHello..the message before this one",
        ),
    };
    if c.at_end() {
        c.note(
            "verify_data",
            "missing: verify_data is Hash.length bytes (32 for SHA-256) (§4.4.4)".into(),
        );
        return Some(());
    }
    let transcript = transcript_before.unwrap_or(transcript);
    c.rest("verify_data", |mac| {
        format!(
            "{} bytes: HMAC(finished_key, Transcript-Hash({transcript})), finished_key = \
             HKDF-Expand-Label({secret}, \"finished\", \"\", Hash.length) (§4.4.4)",
            mac.len()
        )
    });
    Some(())
}

pub(super) fn new_session_ticket(c: &mut Cursor<'_>) -> Option<()> {
    c.uint(4, "ticket_lifetime", |s| {
        let limit = if s > 604_800 {
            "more than the 604800 s (7 days) allowed: the client must not use it this long"
        } else {
            "at most 604800 s, 7 days"
        };
        format!("{s} seconds the ticket may be used ({limit}) (§4.6.1)")
    })?;
    c.uint(4, "ticket_age_add", |_| {
        "random value the client adds to the ticket's age when it presents it, so an observer \
         cannot link the connections (§4.6.1)"
            .into()
    })?;
    c.opaque(1, "ticket_nonce", |_| {
        "unique per ticket: PSK = HKDF-Expand-Label(resumption_master_secret, \"resumption\", \
         ticket_nonce, Hash.length) (§4.6.1)"
            .into()
    })?;
    c.opaque(2, "ticket", |_| {
        "opaque to the client: the PSK identity it presents to resume (§4.6.1)".into()
    })?;
    extensions(c, ExtensionContext::NewSessionTicket)
}

pub(super) fn key_update(c: &mut Cursor<'_>) -> Option<()> {
    c.uint(1, "request_update", |v| match v {
        0 => "update_not_requested (0): the peer need not update its own keys (§4.6.3)".into(),
        1 => "update_requested (1): the peer must answer with its own KeyUpdate (§4.6.3)".into(),
        v => format!("{v}: not a defined value; the receiver aborts with illegal_parameter"),
    })?;
    Some(())
}

pub(super) fn end_of_early_data(c: &mut Cursor<'_>) -> Option<()> {
    if c.at_end() {
        c.note("body", "empty, as it must be (§4.5)".into());
    }
    Some(())
}

pub(super) fn message_hash(c: &mut Cursor<'_>) -> Option<()> {
    c.rest("hash", |hash| {
        format!(
            "{} bytes: Hash(ClientHello1), standing for the first ClientHello in the \
             transcript after a HelloRetryRequest (§4.4.1)",
            hash.len()
        )
    });
    Some(())
}
