//! HKDF-Expand-Label, Derive-Secret and the Finished/binder MAC (RFC 8446 §7.1, §4.4.4),
//! for SHA-256.

use std::fmt;

use hkdf::Hkdf;
use hkdf::hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{DecodeError, DecodeReason, Error, InternalError, Verification};

/// Hash.length for SHA-256.
pub const HASH_LEN: usize = 32;

/// SHA-256 of the empty string: `Transcript-Hash("")`, the context of Derive-Secret(., ., "")
/// (RFC 8446 §7.1).
pub const EMPTY_HASH: [u8; HASH_LEN] = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// RFC 8446 §7.1: every HkdfLabel label starts with this.
const LABEL_PREFIX: &[u8] = b"tls13 ";

/// A 32-byte secret of the key schedule, wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret([u8; HASH_LEN]);

impl Secret {
    /// Wraps secret bytes (for example a PSK of exactly Hash.length bytes, or a test vector).
    pub fn from_bytes(bytes: [u8; HASH_LEN]) -> Self {
        Self(bytes)
    }

    /// The secret bytes, for key logs, traces and tests.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// HKDF-Extract(salt, IKM) (RFC 5869 §2.2).
pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> Secret {
    Secret(hmac_sha256(salt, ikm))
}

/// RFC 8446 §7.1 `HkdfLabel`, the `info` of HKDF-Expand-Label:
///
/// ```text
/// struct {
///     uint16 length = Length;
///     opaque label<7..255> = "tls13 " + Label;
///     opaque context<0..255> = Context;
/// } HkdfLabel;
/// ```
///
/// `label` is given without the "tls13 " prefix. Fails if the label is empty or longer than
/// 249 bytes, the context longer than 255 bytes, or `len` above 65535.
pub fn hkdf_label(label: &[u8], context: &[u8], len: usize) -> Result<Vec<u8>, Error> {
    let fields = LabelFields::new(label, context, len)?;
    Ok(fields.parts(label, context).concat())
}

/// The length fields of an `HkdfLabel`, checked.
struct LabelFields {
    len: [u8; 2],
    full_label_len: [u8; 1],
    context_len: [u8; 1],
}

impl LabelFields {
    fn new(label: &[u8], context: &[u8], len: usize) -> Result<Self, Error> {
        let full_label_len = u8::try_from(LABEL_PREFIX.len() + label.len())
            .ok()
            .filter(|_| !label.is_empty())
            .ok_or(InternalError::HkdfLabel("label must be 1 to 249 bytes"))?;
        let context_len = u8::try_from(context.len())
            .map_err(|_| InternalError::HkdfLabel("context longer than 255 bytes"))?;
        let len = u16::try_from(len)
            .map_err(|_| InternalError::HkdfLabel("output longer than 65535 bytes"))?;
        Ok(Self {
            len: len.to_be_bytes(),
            full_label_len: [full_label_len],
            context_len: [context_len],
        })
    }

    /// The `HkdfLabel` as the pieces it is concatenated from, so that HKDF-Expand can take
    /// them without building the label in a buffer.
    fn parts<'a>(&'a self, label: &'a [u8], context: &'a [u8]) -> [&'a [u8]; 6] {
        [
            &self.len,
            &self.full_label_len,
            LABEL_PREFIX,
            label,
            &self.context_len,
            context,
        ]
    }
}

/// RFC 8446 §7.1 HKDF-Expand-Label(Secret, Label, Context, Length) =
/// HKDF-Expand(Secret, HkdfLabel, Length), writing `out.len()` bytes.
///
/// Fails for the inputs [`hkdf_label`] refuses, or an output longer than 255 * 32 bytes
/// (RFC 5869 §2.3).
pub fn hkdf_expand_label_into(
    secret: &Secret,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    expand_label_with(&Prk::new(secret), label, context, out)
}

/// A secret keyed into HMAC once, for several HKDF-Expand-Label calls under it (the key
/// and IV of one traffic secret): each expansion then skips hashing the padded key again.
/// The keyed HMAC state is wiped when dropped, like the secret itself.
pub(crate) struct Prk(Hkdf<Sha256>);

impl fmt::Debug for Prk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Prk(..)")
    }
}

impl Prk {
    pub(crate) fn new(secret: &Secret) -> Self {
        let Ok(hkdf) = Hkdf::<Sha256>::from_prk(&secret.0) else {
            unreachable!("a Secret is exactly Hash.length bytes");
        };
        Self(hkdf)
    }

    /// Derive-Secret with one of this crate's labels under this key (RFC 8446 §7.1).
    pub(crate) fn derive_secret(
        &self,
        label: &'static [u8],
        transcript_hash: &[u8; HASH_LEN],
    ) -> Secret {
        Secret(self.expand_label_fixed(label, transcript_hash))
    }

    /// [`expand_label_fixed`] under this key.
    pub(crate) fn expand_label_fixed<const N: usize>(
        &self,
        label: &'static [u8],
        context: &[u8],
    ) -> [u8; N] {
        fixed_output(label, context, |out| {
            expand_label_with(self, label, context, out)
        })
    }
}

fn expand_label_with(prk: &Prk, label: &[u8], context: &[u8], out: &mut [u8]) -> Result<(), Error> {
    let fields = LabelFields::new(label, context, out.len())?;
    prk.0
        .expand_multi_info(&fields.parts(label, context), out)
        .map_err(|_| InternalError::HkdfLabel("output longer than 255 * Hash.length"))?;
    Ok(())
}

/// RFC 8446 §7.1 HKDF-Expand-Label with the output length as a parameter.
pub fn hkdf_expand_label(
    secret: &Secret,
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    hkdf_expand_label_into(secret, label, context, &mut out)?;
    Ok(out)
}

/// RFC 8446 §7.1 Derive-Secret(Secret, Label, Messages) =
/// HKDF-Expand-Label(Secret, Label, Transcript-Hash(Messages), Hash.length), given the
/// transcript hash. For `Messages = ""` pass [`EMPTY_HASH`].
pub fn derive_secret(
    secret: &Secret,
    label: &[u8],
    transcript_hash: &[u8; HASH_LEN],
) -> Result<Secret, Error> {
    expand_label_to_secret(secret, label, transcript_hash)
}

/// HKDF-Expand-Label(secret, label, context, Hash.length) as a [`Secret`].
pub(crate) fn expand_label_to_secret(
    secret: &Secret,
    label: &[u8],
    context: &[u8],
) -> Result<Secret, Error> {
    let mut out = Secret([0; HASH_LEN]);
    hkdf_expand_label_into(secret, label, context, &mut out.0)?;
    Ok(out)
}

/// HKDF-Expand-Label for this crate's own labels, contexts of at most Hash.length bytes
/// and outputs of at most Hash.length bytes. None of the failure conditions of
/// [`hkdf_expand_label_into`] can hold for those inputs (the test
/// `crate_labels_are_valid` checks every label), so this cannot fail.
pub(crate) fn expand_label_fixed<const N: usize>(
    secret: &Secret,
    label: &'static [u8],
    context: &[u8],
) -> [u8; N] {
    fixed_output(label, context, |out| {
        hkdf_expand_label_into(secret, label, context, out)
    })
}

/// Runs `expand` (an HKDF-Expand-Label with one of this crate's labels) into an `N`-byte
/// array.
fn fixed_output<const N: usize>(
    label: &'static [u8],
    context: &[u8],
    expand: impl FnOnce(&mut [u8]) -> Result<(), Error>,
) -> [u8; N] {
    const { assert!(N <= HASH_LEN) };
    debug_assert!(context.len() <= HASH_LEN);
    let mut out = [0u8; N];
    if let Err(e) = expand(&mut out) {
        // Crate labels are 1..=249 bytes, contexts at most 32 bytes and N at most 32, so
        // this is a bug in this crate, never something a peer can cause.
        unreachable!("crate-internal HKDF-Expand-Label {label:?} failed: {e}");
    }
    out
}

/// Derive-Secret with one of this crate's labels; infallible like [`expand_label_fixed`].
pub(crate) fn derive_secret_fixed(
    secret: &Secret,
    label: &'static [u8],
    transcript_hash: &[u8; HASH_LEN],
) -> Secret {
    Secret(expand_label_fixed(secret, label, transcript_hash))
}

/// HMAC-SHA256(key, message), which is also HKDF-Extract(salt = key, IKM = message)
/// (RFC 5869 §2.2). HMAC directly, because `Hkdf::extract` also keys an expander with the
/// result, which these callers do not use.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; HASH_LEN] {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        unreachable!("HMAC takes keys of any length");
    };
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// RFC 8446 §4.4.4 finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length).
///
/// BaseKey is a handshake traffic secret for Finished, the binder_key for a PSK binder
/// (§4.2.11.2).
pub fn finished_key(base_key: &Secret) -> Secret {
    Secret(expand_label_fixed(base_key, b"finished", &[]))
}

/// RFC 8446 §4.4.4 verify_data = HMAC(finished_key, Transcript-Hash(...)), which is also a
/// PSK binder when `base_key` is the binder_key (§4.2.11.2).
pub fn verify_data(base_key: &Secret, transcript_hash: &[u8; HASH_LEN]) -> [u8; HASH_LEN] {
    verify_data_keyed(&finished_key(base_key), transcript_hash)
}

/// RFC 8446 §4.4.4 verify_data = HMAC(finished_key, Transcript-Hash(...)), given the
/// finished_key itself.
pub(crate) fn verify_data_keyed(
    finished_key: &Secret,
    transcript_hash: &[u8; HASH_LEN],
) -> [u8; HASH_LEN] {
    hmac_sha256(finished_key.as_bytes(), transcript_hash)
}

/// Checks received verify_data (or a binder) against the expected value in constant time.
///
/// RFC 8446 §4.4.4: "Recipients of Finished messages MUST verify that the contents are
/// correct and if incorrect MUST terminate the connection with a "decrypt_error" alert."
/// The length is structure, checked first: verify_data is `opaque verify_data[Hash.length]`
/// (§4.4.4), a binder is HMAC output of the PSK's hash (§4.2.11.2), so another length is
/// decode_error (§6.2), and only the right length with the wrong value is decrypt_error.
pub fn check_verify_data(
    base_key: &Secret,
    transcript_hash: &[u8; HASH_LEN],
    received: &[u8],
    what: Verification,
) -> Result<(), Error> {
    check_verify_data_keyed(&finished_key(base_key), transcript_hash, received, what)
}

/// [`check_verify_data`] given the finished_key (RFC 8446 §4.4.4) instead of its base key.
pub(crate) fn check_verify_data_keyed(
    finished_key: &Secret,
    transcript_hash: &[u8; HASH_LEN],
    received: &[u8],
    what: Verification,
) -> Result<(), Error> {
    if received.len() != HASH_LEN {
        let field = match what {
            Verification::PskBinder => "PskBinderEntry",
            _ => "Finished.verify_data",
        };
        let reason = DecodeReason::LengthOutOfRange {
            len: received.len(),
            min: HASH_LEN,
            max: HASH_LEN,
        };
        return Err(DecodeError::new(field, reason).into());
    }
    let expected = Zeroizing::new(verify_data_keyed(finished_key, transcript_hash));
    if bool::from(expected.as_slice().ct_eq(received)) {
        Ok(())
    } else {
        Err(Error::VerifyFailed(what))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn empty_hash_is_sha256_of_nothing() {
        let digest: [u8; 32] = Sha256::digest(b"").into();
        assert_eq!(digest, EMPTY_HASH);
    }

    #[test]
    fn crate_labels_are_valid() {
        let secret = Secret([1; 32]);
        for label in super::super::CRATE_LABELS {
            let mut out = [0u8; 32];
            assert!(
                hkdf_expand_label_into(&secret, label, &EMPTY_HASH, &mut out).is_ok(),
                "{label:?}"
            );
        }
    }

    #[test]
    fn invalid_label_inputs_are_errors() {
        let secret = Secret([1; 32]);
        let refused = |why| Err(Error::Internal(InternalError::HkdfLabel(why)));
        let label = "label must be 1 to 249 bytes";
        assert_eq!(hkdf_expand_label(&secret, b"", b"", 32), refused(label));
        assert_eq!(
            hkdf_expand_label(&secret, &[b'a'; 250], b"", 32),
            refused(label)
        );
        assert!(hkdf_expand_label(&secret, &[b'a'; 249], b"", 32).is_ok());
        assert_eq!(
            hkdf_expand_label(&secret, b"key", &[0; 256], 32),
            refused("context longer than 255 bytes")
        );
        assert_eq!(
            hkdf_expand_label(&secret, b"key", b"", 255 * 32 + 1),
            refused("output longer than 255 * Hash.length")
        );
        assert_eq!(
            hkdf_expand_label(&secret, b"key", b"", 255 * 32).map(|v| v.len()),
            Ok(255 * 32)
        );
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn verify_data_check_rejects_changes_and_wrong_lengths() {
        let key = Secret([7; 32]);
        let hash = [9; 32];
        let good = verify_data(&key, &hash);
        assert_eq!(
            check_verify_data(&key, &hash, &good, Verification::Finished),
            Ok(())
        );
        let mut bad = good;
        bad[31] ^= 1;
        assert_eq!(
            check_verify_data(&key, &hash, &bad, Verification::Finished),
            Err(Error::VerifyFailed(Verification::Finished))
        );
        assert_eq!(
            check_verify_data(&key, &hash, &good[..31], Verification::PskBinder),
            Err(Error::Decode(DecodeError::new(
                "PskBinderEntry",
                DecodeReason::LengthOutOfRange {
                    len: 31,
                    min: 32,
                    max: 32
                }
            )))
        );
    }
}
