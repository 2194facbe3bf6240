//! Finished (RFC 8446 §4.4.4), the post-handshake messages NewSessionTicket (§4.6.1) and
//! KeyUpdate (§4.6.3), EndOfEarlyData (§4.5) and the synthetic message_hash (§4.4.1).

use super::{uint, who};
use handshake::Side;

pub(super) fn finished_summary(sender: Option<Side>) -> String {
    format!(
        "the {}'s MAC over the whole handshake so far: proves it saw the same transcript and \
         holds the handshake traffic secret (§4.4.4)",
        who(sender)
    )
}

/// The meaning of a Finished, NewSessionTicket, KeyUpdate or message_hash field the codec
/// read as `what`.
pub(super) fn meaning(
    what: &str,
    bytes: &[u8],
    sender: Option<Side>,
    transcript_before: Option<&str>,
) -> Option<String> {
    let v = uint(bytes);
    Some(match what {
        "Finished.verify_data" => verify_data(bytes, sender, transcript_before),
        "NewSessionTicket.ticket_lifetime" => {
            let limit = if v > 604_800 {
                "more than the 604800 s (7 days) allowed: the client must not use it this long"
            } else {
                "at most 604800 s, 7 days"
            };
            format!("{v} seconds the ticket may be used ({limit}) (§4.6.1)")
        }
        "NewSessionTicket.ticket_age_add" => "random value the client adds to the ticket's age \
            when it presents it, so an observer cannot link the connections (§4.6.1)"
            .into(),
        "NewSessionTicket.ticket_nonce" => "unique per ticket: PSK = \
            HKDF-Expand-Label(resumption_master_secret, \"resumption\", ticket_nonce, \
            Hash.length) (§4.6.1)"
            .into(),
        "NewSessionTicket.ticket" => {
            "opaque to the client: the PSK identity it presents to resume (§4.6.1)".into()
        }
        "KeyUpdate.request_update" => match v {
            0 => "update_not_requested (0): the peer need not update its own keys (§4.6.3)".into(),
            1 => {
                "update_requested (1): the peer must answer with its own KeyUpdate (§4.6.3)".into()
            }
            v => format!("{v}: not a defined value; the receiver aborts with illegal_parameter"),
        },
        "MessageHash.hash" => format!(
            "{} bytes: Hash(ClientHello1), standing for the first ClientHello in the \
             transcript after a HelloRetryRequest (§4.4.1)",
            bytes.len()
        ),
        _ => return None,
    })
}

fn verify_data(mac: &[u8], sender: Option<Side>, transcript_before: Option<&str>) -> String {
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
    if mac.is_empty() {
        return "missing: verify_data is Hash.length bytes (32 for SHA-256) (§4.4.4)".into();
    }
    let transcript = transcript_before.unwrap_or(transcript);
    format!(
        "{} bytes: HMAC(finished_key, Transcript-Hash({transcript})), finished_key = \
         HKDF-Expand-Label({secret}, \"finished\", \"\", Hash.length) (§4.4.4)",
        mac.len()
    )
}
