//! The sending half of [`Core`]: handshake messages encoded straight into the flight being
//! built, sealed as one record when the connection hands its output back (RFC 8446 §5.1
//! lets a record carry several handshake messages), alerts and the change_cipher_spec.

use super::Core;
use crate::auth::Side;
use crate::conn::trace::{Direction, TraceEvent};
use crate::error::Error;
use crate::msgs::HandshakeMessage;
use crate::msgs::alert::{Alert, AlertDescription};
use crate::msgs::enums::{ContentType, ProtocolVersion};
use crate::record::write_plaintext;

/// The first allocation of a flight's buffer: an Ed25519 server flight (two certificates)
/// fits, so it grows rarely.
const FLIGHT_BUFFER: usize = 2048;

/// The first allocation for a plaintext handshake message: a ClientHello without PSK
/// offers or a ServerHello fits.
const MESSAGE_BUFFER: usize = 512;

impl Core {
    /// Sends the one change_cipher_spec record of middlebox compatibility mode (RFC 8446
    /// Appendix D.4), unprotected even under handshake keys (§5); later calls do nothing.
    pub fn send_change_cipher_spec(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.ccs_sent {
            return Ok(());
        }
        self.flush(out)?;
        write_plaintext(
            ContentType::ChangeCipherSpec,
            ProtocolVersion::Tls12,
            &[1],
            out,
        )?;
        self.ccs_sent = true;
        self.trace(&TraceEvent::ChangeCipherSpec {
            direction: Direction::Sent,
        });
        Ok(())
    }

    /// Whether records are protected in the sending direction.
    pub fn encrypting(&self) -> bool {
        self.encrypter.is_some()
    }

    /// Encodes `msg`, adds it to the transcript and traces it; a plaintext message's
    /// record(s) go to `out` at once, a protected one joins the flight that
    /// [`Core::flush`] seals.
    pub fn send_handshake(
        &mut self,
        msg: &HandshakeMessage,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.send_message(msg, true, out)
    }

    /// Encodes and traces a post-handshake message (NewSessionTicket, KeyUpdate), which is
    /// not part of the transcript (RFC 8446 §4.4.1), into the flight [`Core::flush`] seals.
    pub fn send_post_handshake(
        &mut self,
        msg: &HandshakeMessage,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.send_message(msg, false, out)
    }

    /// Encodes `msg` straight into the flight being built when records are protected (a
    /// buffer of its own otherwise), traces it, adds it to the transcript when asked, and
    /// writes a plaintext message's record(s).
    fn send_message(
        &mut self,
        msg: &HandshakeMessage,
        transcript: bool,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        let encrypted = self.encrypting();
        let mut buf = if encrypted {
            std::mem::take(&mut self.unsealed)
        } else {
            Vec::with_capacity(MESSAGE_BUFFER)
        };
        if buf.capacity() == 0 {
            buf.reserve(FLIGHT_BUFFER);
        }
        let start = buf.len();
        let result = self.encode_and_send(msg, transcript, &mut buf, start, out);
        if encrypted {
            if result.is_err() {
                buf.truncate(start);
            }
            self.unsealed = buf;
        }
        result
    }

    /// [`Core::send_message`] once the buffer is chosen: `msg` is encoded at `buf[start..]`.
    fn encode_and_send(
        &mut self,
        msg: &HandshakeMessage,
        transcript: bool,
        buf: &mut Vec<u8>,
        start: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        msg.encode(buf)?;
        let bytes = &buf[start..];
        let encrypted = self.encrypting();
        // Traced first, as a received message is: a HelloRetryRequest's message_hash event
        // then follows it on both sides.
        self.trace(&TraceEvent::Message {
            direction: Direction::Sent,
            message: msg,
            bytes,
            encrypted,
        });
        let sent = if encrypted {
            Ok(())
        } else {
            self.write(ContentType::Handshake, bytes, out)
        };
        if transcript {
            let from_client = self.side == Side::Client;
            self.add_to_transcript(msg, bytes, from_client);
        }
        sent
    }

    /// Seals the protected handshake messages written since the last record into `out`:
    /// called when the connection hands `out` back, before a key change and before a
    /// record of another type.
    #[inline]
    pub fn flush(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.unsealed.is_empty() {
            return Ok(());
        }
        self.seal_unsealed(out)
    }

    /// The buffer is freed: an established connection holds none between flights.
    fn seal_unsealed(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        let unsealed = std::mem::take(&mut self.unsealed);
        self.write_records(ContentType::Handshake, &unsealed, out)
    }

    /// Appends `data` as records of type `typ`, protected when keys are in use, after
    /// sealing the handshake messages written before it.
    pub fn write(&mut self, typ: ContentType, data: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        self.flush(out)?;
        self.write_records(typ, data, out)
    }

    fn write_records(
        &mut self,
        typ: ContentType,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        match self.encrypter.as_mut() {
            Some(enc) => enc.encrypt_all(typ, data, out),
            // RFC 8446 §5.1: legacy_record_version 0x0303 is right for every record (0x0301
            // is merely allowed for an initial ClientHello).
            None => write_plaintext(typ, ProtocolVersion::Tls12, data, out),
        }
    }

    /// Sends an alert; failures to protect it are ignored (the connection is ending).
    pub fn send_alert(&mut self, description: AlertDescription, out: &mut Vec<u8>) {
        let alert = Alert::new(description);
        self.trace(&TraceEvent::Alert {
            direction: Direction::Sent,
            alert,
        });
        let bytes = [alert.level.to_u8(), alert.description.to_u8()];
        let _ = self.write(ContentType::Alert, &bytes, out);
    }
}
