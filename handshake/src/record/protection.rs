//! Record protection with the AEAD of the negotiated suite (RFC 8446 §5.2–§5.4):
//! ChaCha20-Poly1305 (RFC 8439) or AES-128-GCM (NIST SP 800-38D).
//!
//! RFC 8446 §5.5: at most 2^24.5 full-size records (about 24 million, some 360 GiB) may be
//! protected under one AES-GCM key; ChaCha20-Poly1305 has no limit below the 2^64 sequence
//! numbers. keylab does not rekey on its own: a connection that may carry that much under
//! TLS_AES_128_GCM_SHA256 calls `Connection::key_update` (§4.6.3) before it gets there.

use aes_gcm::Aes128Gcm;
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};

use super::{
    HEADER_LEN, MAX_CIPHERTEXT_LEN, MAX_INNER_PLAINTEXT_LEN, MAX_PLAINTEXT_LEN, OpaqueRecord,
    PlainMessage, extend_in_pieces, put_header,
};
use crate::algorithms::SupportedSuite;
use crate::error::{Error, InternalError, RecordError};
use crate::key_schedule::TrafficKeys;
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// Size of the tag, the whole AEAD expansion of both suites (Poly1305 and GHASH tags are
/// 16 bytes).
pub const TAG_LEN: usize = 16;

/// RFC 8446 §5.3: the per-record nonce. "The 64-bit record sequence number is encoded in
/// network byte order and padded to the left with zeros to iv_length. The padded sequence
/// number is XORed with either the static client_write_iv or server_write_iv."
pub fn nonce_for(iv: &[u8; 12], sequence_number: u64) -> [u8; 12] {
    let mut nonce = *iv;
    for (n, s) in nonce[4..].iter_mut().zip(sequence_number.to_be_bytes()) {
        *n ^= s;
    }
    nonce
}

/// The AEAD of one suite, keyed. Both take a 12-byte nonce and give a 16-byte tag, so the
/// nonce and sequence logic around them is shared. The AES key schedule is large, so it
/// sits behind one allocation per key (never one per record).
enum Aead {
    Chacha20Poly1305(ChaCha20Poly1305),
    Aes128Gcm(Box<Aes128Gcm>),
}

impl Aead {
    fn new(keys: &TrafficKeys) -> Self {
        let key = keys.key();
        match keys.suite() {
            SupportedSuite::Chacha20Poly1305Sha256 => Self::Chacha20Poly1305(
                ChaCha20Poly1305::new_from_slice(key).unwrap_or_else(|_| unreachable_len(key)),
            ),
            SupportedSuite::Aes128GcmSha256 => Self::Aes128Gcm(Box::new(
                Aes128Gcm::new_from_slice(key).unwrap_or_else(|_| unreachable_len(key)),
            )),
        }
    }

    fn encrypt(&self, nonce: &Nonce, aad: &[u8], buf: &mut [u8]) -> Result<Tag, ()> {
        match self {
            Self::Chacha20Poly1305(a) => a.encrypt_inout_detached(nonce, aad, buf.into()),
            Self::Aes128Gcm(a) => a.encrypt_inout_detached(nonce, aad, buf.into()),
        }
        .map_err(|_| ())
    }

    fn decrypt(&self, nonce: &Nonce, aad: &[u8], buf: &mut [u8], tag: &Tag) -> Result<(), ()> {
        match self {
            Self::Chacha20Poly1305(a) => a.decrypt_inout_detached(nonce, aad, buf.into(), tag),
            Self::Aes128Gcm(a) => a.decrypt_inout_detached(nonce, aad, buf.into(), tag),
        }
        .map_err(|_| ())
    }
}

/// `TrafficKeys` always holds `suite().key_len()` bytes.
fn unreachable_len(key: &[u8]) -> ! {
    unreachable!("TrafficKeys gave a {}-byte key", key.len())
}

/// The AEAD, IV and sequence number of one direction under one key.
struct RecordCipher {
    aead: Aead,
    iv: [u8; 12],
    /// The next sequence number; `None` once 2^64 - 1 has been used.
    next_seq: Option<u64>,
}

impl RecordCipher {
    fn new(keys: &TrafficKeys) -> Self {
        Self {
            aead: Aead::new(keys),
            iv: *keys.iv(),
            // §5.3: "reset to zero whenever the key is changed"; a new cipher per key.
            next_seq: Some(0),
        }
    }

    /// Takes the next sequence number and returns its nonce. §5.3: "Because the size of
    /// sequence numbers is 64-bit, they should not wrap. If a TLS implementation would need
    /// to wrap a sequence number, it MUST either rekey (Section 4.6.3) or terminate the
    /// connection." Running out is an error, never a reuse.
    fn next_nonce(&mut self) -> Result<Nonce, Error> {
        let seq = self
            .next_seq
            .ok_or(InternalError::SequenceNumberExhausted)?;
        self.next_seq = seq.checked_add(1);
        Ok(Nonce::from(nonce_for(&self.iv, seq)))
    }

    /// Encrypts `buf` in place under `aad`, returning the tag.
    fn seal(&mut self, aad: &[u8], buf: &mut [u8]) -> Result<Tag, Error> {
        let nonce = self.next_nonce()?;
        let len = buf.len();
        self.aead.encrypt(&nonce, aad, buf).map_err(|_| {
            InternalError::RecordTooLarge {
                len,
                max: MAX_INNER_PLAINTEXT_LEN,
            }
            .into()
        })
    }

    /// Decrypts `buf` (ciphertext then tag) in place under `aad`, returning the plaintext
    /// length. Any failure is [`Error::DecryptFailed`] and nothing more.
    fn open(&mut self, aad: &[u8], buf: &mut [u8]) -> Result<usize, Error> {
        let nonce = self.next_nonce()?;
        let plaintext_len = buf.len().checked_sub(TAG_LEN).ok_or(Error::DecryptFailed)?;
        let (ciphertext, tag) = buf.split_at_mut(plaintext_len);
        let tag = Tag::try_from(&*tag).map_err(|_| Error::DecryptFailed)?;
        self.aead
            .decrypt(&nonce, aad, ciphertext, &tag)
            .map_err(|_| Error::DecryptFailed)?;
        Ok(plaintext_len)
    }
}

/// Protects outgoing records under one traffic key (TLSCiphertext, RFC 8446 §5.2).
pub struct RecordEncrypter(RecordCipher);

impl RecordEncrypter {
    /// An encrypter starting at sequence number 0.
    pub fn new(keys: &TrafficKeys) -> Self {
        Self(RecordCipher::new(keys))
    }

    /// The sequence number the next record will use, `None` when exhausted.
    pub fn next_sequence_number(&self) -> Option<u64> {
        self.0.next_seq
    }

    /// Appends one protected record carrying `content` of type `typ`, followed inside the
    /// encryption by `padding` zero bytes (§5.4).
    ///
    /// ```text
    /// TLSInnerPlaintext = content || type || zeros[padding]          (at most 2^14 + 1)
    /// TLSCiphertext     = 23 || 03 03 || length || AEAD(TLSInnerPlaintext)
    /// additional_data   = the 5-byte header of the TLSCiphertext      (§5.2)
    /// ```
    pub fn encrypt(
        &mut self,
        typ: ContentType,
        content: &[u8],
        padding: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if content.is_empty() && typ != ContentType::ApplicationData {
            return Err(InternalError::EmptyRecord(typ).into());
        }
        let inner_len = padding
            .checked_add(1)
            .and_then(|p| content.len().checked_add(p))
            .filter(|len| *len <= MAX_INNER_PLAINTEXT_LEN)
            .ok_or(InternalError::RecordTooLarge {
                len: content.len().saturating_add(padding).saturating_add(1),
                max: MAX_INNER_PLAINTEXT_LEN,
            })?;
        let start = out.len();
        put_header(
            out,
            ContentType::ApplicationData,
            ProtocolVersion::Tls12,
            inner_len + TAG_LEN,
        );
        extend_in_pieces(out, content);
        out.push(typ.to_u8());
        out.resize(out.len() + padding, 0);
        let mut aad = [0u8; HEADER_LEN];
        aad.copy_from_slice(&out[start..start + HEADER_LEN]);
        match self.0.seal(&aad, &mut out[start + HEADER_LEN..]) {
            Ok(tag) => {
                out.extend_from_slice(&tag);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// Appends `data` as protected records of at most 2^14 content bytes each, without
    /// padding. Empty application data gives one empty record; empty handshake or alert
    /// data is an error.
    pub fn encrypt_all(
        &mut self,
        typ: ContentType,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        if data.is_empty() {
            return self.encrypt(typ, data, 0, out);
        }
        data.chunks(MAX_PLAINTEXT_LEN)
            .try_for_each(|chunk| self.encrypt(typ, chunk, 0, out))
    }
}

/// Removes the protection of incoming records under one traffic key (RFC 8446 §5.2).
pub struct RecordDecrypter(RecordCipher);

impl RecordDecrypter {
    /// A decrypter starting at sequence number 0.
    pub fn new(keys: &TrafficKeys) -> Self {
        Self(RecordCipher::new(keys))
    }

    /// The sequence number the next record will use, `None` when exhausted.
    pub fn next_sequence_number(&self) -> Option<u64> {
        self.0.next_seq
    }

    /// Like [`RecordDecrypter::decrypt`], but a record that fails authentication leaves
    /// the sequence number as it was: trial decryption past rejected 0-RTT data
    /// (RFC 8446 §4.2.10), whose records were sealed under another key.
    pub fn trial_decrypt(&mut self, record: OpaqueRecord) -> Result<PlainMessage, Error> {
        let seq = self.0.next_seq;
        let result = self.decrypt(record);
        if matches!(result, Err(Error::DecryptFailed)) {
            self.0.next_seq = seq;
        }
        result
    }

    /// Decrypts one record whose outer type is application_data and removes the padding.
    ///
    /// Errors: another outer type (unexpected_message: this record is not protected);
    /// more than 2^14 + 256 bytes, or more than 2^14 + 1 bytes of TLSInnerPlaintext
    /// (record_overflow, §5.2 / §5.4); failed authentication ([`Error::DecryptFailed`],
    /// bad_record_mac); an all-zero TLSInnerPlaintext, an inner change_cipher_spec or an
    /// unknown inner type (unexpected_message, §5.4, §5).
    pub fn decrypt(&mut self, record: OpaqueRecord) -> Result<PlainMessage, Error> {
        if record.typ != ContentType::ApplicationData {
            return Err(RecordError::UnexpectedContentType(record.typ).into());
        }
        if record.payload.len() > MAX_CIPHERTEXT_LEN {
            return Err(Error::RecordOverflow {
                length: record.payload.len(),
                limit: MAX_CIPHERTEXT_LEN,
            });
        }
        let aad = record.header();
        let mut payload = record.payload;
        let len = self.0.open(&aad, &mut payload)?;
        payload.truncate(len);
        if len > MAX_INNER_PLAINTEXT_LEN {
            return Err(Error::RecordOverflow {
                length: len,
                limit: MAX_INNER_PLAINTEXT_LEN,
            });
        }
        // §5.4: scan back from the end for the first non-zero byte: the content type.
        let type_at = payload
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(RecordError::NoContentType)?;
        let typ = ContentType::from_u8(payload[type_at]);
        payload.truncate(type_at);
        match typ {
            ContentType::Handshake | ContentType::Alert | ContentType::ApplicationData => {
                Ok(PlainMessage { typ, payload })
            }
            // §5: "An implementation which receives ... a protected change_cipher_spec record
            // MUST abort the handshake with an "unexpected_message" alert."
            ContentType::ChangeCipherSpec => Err(RecordError::ProtectedChangeCipherSpec.into()),
            other => Err(RecordError::UnknownContentType(other).into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    const PLAINTEXT: &[u8] = b"Ladies and Gentlemen of the class of '99: \
        If I could offer you only one tip for the future, sunscreen would be it.";

    // RFC 8439 §2.8.2 AEAD_CHACHA20_POLY1305 test vector.
    const KEY: &str = "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
    const AAD: &str = "50515253c0c1c2c3c4c5c6c7";
    const CIPHERTEXT: &str = "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6\
        3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee3\
        28091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116";
    const TAG: &str = "1ae10b594f09e26a7e902ecbd0600691";

    fn rfc8439_cipher(iv: [u8; 12], first_seq: u64) -> RecordCipher {
        let key: [u8; 32] = hex(KEY).try_into().expect("32 bytes");
        let mut cipher = RecordCipher::new(&TrafficKeys::from_parts(key, iv));
        cipher.next_seq = Some(first_seq);
        cipher
    }

    #[test]
    fn rfc8439_vector_through_the_record_nonce_path() {
        // RFC 8439 nonce 07000000 4041424344454647. Build it the TLS way: with sequence
        // number 0 the nonce is the IV; with IV 07000000 00..00 and sequence number
        // 0x4041424344454647 the XOR of §5.3 gives the same nonce.
        let iv0 = [7, 0, 0, 0, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47];
        let iv1 = [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        for mut cipher in [
            rfc8439_cipher(iv0, 0),
            rfc8439_cipher(iv1, 0x4041_4243_4445_4647),
        ] {
            let mut buf = PLAINTEXT.to_vec();
            let tag = cipher.seal(&hex(AAD), &mut buf).expect("seals");
            assert_eq!(buf, hex(CIPHERTEXT));
            assert_eq!(tag.as_slice(), hex(TAG));
        }
        let mut cipher = rfc8439_cipher(iv1, 0x4041_4243_4445_4647);
        let mut sealed = hex(CIPHERTEXT);
        sealed.extend(hex(TAG));
        let len = cipher.open(&hex(AAD), &mut sealed).expect("opens");
        assert_eq!(&sealed[..len], PLAINTEXT);
    }

    #[test]
    fn aes_128_gcm_vector_through_the_record_nonce_path() {
        // The GCM specification's test case 2 (McGrew and Viega): zero key, zero IV, one
        // zero block, no AAD.
        let keys = TrafficKeys::aes_128_gcm_from_parts([0; 16], [0; 12]);
        let mut cipher = RecordCipher::new(&keys);
        let mut buf = [0u8; 16];
        let tag = cipher.seal(&[], &mut buf).expect("seals");
        assert_eq!(buf.as_slice(), hex("0388dace60b6a392f328c2b971b2fe78"));
        assert_eq!(tag.as_slice(), hex("ab6e47d42cec13bdf53a67b21257bddf"));
        let mut cipher = RecordCipher::new(&keys);
        let mut sealed = buf.to_vec();
        sealed.extend_from_slice(&tag);
        assert_eq!(cipher.open(&[], &mut sealed), Ok(16));
        assert_eq!(&sealed[..16], &[0; 16]);
    }

    #[test]
    fn a_record_sealed_under_one_suite_does_not_open_under_the_other() {
        let secret = crate::key_schedule::Secret::from_bytes([9; 32]);
        let [chacha, aes] = SupportedSuite::ALL.map(|s| TrafficKeys::derive(s, &secret));
        let mut out = Vec::new();
        RecordEncrypter::new(&aes)
            .encrypt(ContentType::ApplicationData, b"hello", 0, &mut out)
            .expect("encrypts");
        let mut d = super::super::RecordDeframer::new();
        d.push(&out);
        let record = d.pop().expect("valid").expect("complete");
        assert_eq!(
            RecordDecrypter::new(&chacha).decrypt(record.clone()),
            Err(Error::DecryptFailed)
        );
        let plain = RecordDecrypter::new(&aes).decrypt(record).expect("opens");
        assert_eq!(plain.payload, b"hello");
    }

    #[test]
    fn nonce_xors_the_sequence_number_into_the_last_8_bytes() {
        let iv = [0xff; 12];
        assert_eq!(
            nonce_for(&iv, 0x0102_0304_0506_0708),
            [
                0xff, 0xff, 0xff, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7
            ]
        );
    }

    #[test]
    fn sequence_numbers_never_wrap() {
        let keys = TrafficKeys::from_parts([1; 32], [2; 12]);
        let mut enc = RecordEncrypter::new(&keys);
        enc.0.next_seq = Some(u64::MAX);
        let mut out = Vec::new();
        enc.encrypt(ContentType::ApplicationData, b"last", 0, &mut out)
            .expect("2^64 - 1 is still usable");
        assert_eq!(enc.next_sequence_number(), None);
        let before = out.len();
        assert_eq!(
            enc.encrypt(ContentType::ApplicationData, b"one more", 0, &mut out),
            Err(InternalError::SequenceNumberExhausted.into())
        );
        assert_eq!(out.len(), before, "nothing written after exhaustion");

        let mut dec = RecordDecrypter::new(&keys);
        dec.0.next_seq = Some(u64::MAX);
        let mut d = super::super::RecordDeframer::new();
        d.push(&out);
        let record = d.pop().expect("valid").expect("complete");
        dec.decrypt(record.clone()).expect("decrypts");
        assert_eq!(
            dec.decrypt(record),
            Err(InternalError::SequenceNumberExhausted.into())
        );
    }
}
