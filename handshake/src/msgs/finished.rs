//! Finished (RFC 8446 §4.4.4) and the synthetic message_hash message (§4.4.1).

use crate::codec::{Codec, Reader};
use crate::error::{DecodeError, EncodeError};

/// RFC 8446 §4.4.4 `Finished`: `opaque verify_data[Hash.length]`.
///
/// The length is the hash length of the negotiated suite, which the decoder does not know;
/// the whole body is taken and the comparison with the expected value (constant time,
/// length included) decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    /// HMAC(finished_key, Transcript-Hash(...)).
    pub verify_data: Vec<u8>,
}

impl Codec for Finished {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.verify_data);
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            verify_data: r.rest("Finished.verify_data").to_vec(),
        })
    }
}

/// RFC 8446 §4.4.1: after a HelloRetryRequest, ClientHello1 in the transcript is replaced by
/// the synthetic handshake message `message_hash(254) || 00 00 Hash.length ||
/// Hash(ClientHello1)`. This is its body. It never goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageHash {
    /// Hash(ClientHello1).
    pub hash: Vec<u8>,
}

impl Codec for MessageHash {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        out.extend_from_slice(&self.hash);
        Ok(())
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            hash: r.rest("MessageHash.hash").to_vec(),
        })
    }
}
