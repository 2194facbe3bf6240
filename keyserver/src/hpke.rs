//! HPKE (RFC 9180) in base mode for one suite: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20-Poly1305 (KEM 0x0020, KDF 0x0001, AEAD 0x0003).
//!
//! ```text
//! sender:    (enc, ctx) = setup_base_sender(pkR, info, rng);  ct = ctx.seal(aad, pt)
//! recipient: ctx = setup_base_receiver(enc, skR, info);       pt = ctx.open(aad, ct)
//! ```
//!
//! Only what keylab needs is here: no PSK or auth modes, no other suites. Checked against
//! the RFC's Appendix A.2 vectors (`tests/data/rfc9180-a2.txt`).

use chacha20poly1305::aead::{Aead as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit as _};
use hkdf::{Hkdf, HkdfExtract};
use rand_core::CryptoRng;
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

/// RFC 9180 §7.1: KEM id of DHKEM(X25519, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0020;
/// RFC 9180 §7.2: KDF id of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// RFC 9180 §7.3: AEAD id of ChaCha20Poly1305.
pub const AEAD_ID: u16 = 0x0003;
/// Bytes in an encapsulated key (`Nenc`).
pub const ENC_LEN: usize = 32;
/// Bytes the AEAD adds (the Poly1305 tag).
pub const TAG_LEN: usize = 16;
/// The longest export, 255·Nh (RFC 9180 §5.3: HKDF-Expand cannot give more).
pub const MAX_EXPORT: usize = 255 * 32;

/// `Nsecret`, `Nh`, `Nk`: all 32 for this suite; `Nn` is 12.
const N_SECRET: usize = 32;
const N_NONCE: usize = 12;

/// RFC 9180 §4: "KEM" || I2OSP(kem_id, 2).
const KEM_SUITE: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x20];
/// RFC 9180 §5.1: "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2).
const HPKE_SUITE: [u8; 10] = [b'H', b'P', b'K', b'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];

/// Why HPKE failed. Opening says nothing more than that it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HpkeError {
    /// The Diffie-Hellman output was all zeros: a low-order public key (RFC 9180 §7.1.4).
    #[error("the public key is of low order (the X25519 result is zero)")]
    LowOrderKey,
    /// The ciphertext does not open under this key, info and aad.
    #[error("decryption failed: wrong key, or the data was altered")]
    OpenFailed,
    /// The message is too long for the AEAD, or the sequence number ran out.
    #[error("the message is too long to seal")]
    TooLong,
    /// An export longer than 255·Nh bytes (RFC 9180 §5.3).
    #[error("an exported secret is at most {} bytes", MAX_EXPORT)]
    ExportTooLong,
}

/// RFC 9180 §4: LabeledExtract(salt, label, ikm).
fn labeled_extract(suite: &[u8], salt: &[u8], label: &str, ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    extract.input_ikm(b"HPKE-v1");
    extract.input_ikm(suite);
    extract.input_ikm(label.as_bytes());
    extract.input_ikm(ikm);
    let (prk, _) = extract.finalize();
    Zeroizing::new(prk.into())
}

/// RFC 9180 §4: LabeledExpand(prk, label, info, L), writing `out.len()` bytes (at most
/// 255·32, far above anything used here).
fn labeled_expand(suite: &[u8], prk: &[u8; 32], label: &str, info: &[u8], out: &mut [u8]) {
    let length = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    // A 32-byte PRK is always long enough, and every length used is far below 255·32.
    if let Ok(hkdf) = Hkdf::<Sha256>::from_prk(prk) {
        let parts: [&[u8]; 5] = [&length, b"HPKE-v1", suite, label.as_bytes(), info];
        let _ = hkdf.expand_multi_info(&parts, out);
    }
}

/// RFC 9180 §7.1.3: DeriveKeyPair(ikm) for X25519, returning (skX, pkX).
pub fn derive_key_pair(ikm: &[u8]) -> (StaticSecret, PublicKey) {
    let prk = labeled_extract(&KEM_SUITE, b"", "dkp_prk", ikm);
    let mut sk = Zeroizing::new([0u8; 32]);
    labeled_expand(&KEM_SUITE, &prk, "sk", b"", &mut sk[..]);
    let secret = StaticSecret::from(*sk);
    let public = PublicKey::from(&secret);
    (secret, public)
}

/// RFC 9180 §4.1: DH then ExtractAndExpand(dh, enc || pkRm).
fn extract_and_expand(
    sk: &StaticSecret,
    pk: &PublicKey,
    enc: &[u8; ENC_LEN],
    pk_rm: &[u8; 32],
) -> Result<Zeroizing<[u8; N_SECRET]>, HpkeError> {
    let dh = sk.diffie_hellman(pk);
    // §7.1.4: abort on the all-zero output of a low-order point.
    if !dh.was_contributory() {
        return Err(HpkeError::LowOrderKey);
    }
    let mut kem_context = [0u8; ENC_LEN + 32];
    kem_context[..ENC_LEN].copy_from_slice(enc);
    kem_context[ENC_LEN..].copy_from_slice(pk_rm);
    let prk = labeled_extract(&KEM_SUITE, b"", "eae_prk", dh.as_bytes());
    let mut shared = Zeroizing::new([0u8; N_SECRET]);
    labeled_expand(
        &KEM_SUITE,
        &prk,
        "shared_secret",
        &kem_context,
        &mut shared[..],
    );
    Ok(shared)
}

/// An HPKE encryption context (RFC 9180 §5.2): the AEAD key, base nonce, exporter secret
/// and sequence number.
pub struct Context {
    aead: ChaCha20Poly1305,
    base_nonce: [u8; N_NONCE],
    exporter_secret: Zeroizing<[u8; 32]>,
    /// The next sequence number; `None` once exhausted (§5.2: never reuse a nonce).
    seq: Option<u64>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// RFC 9180 §5.1: KeySchedule for mode_base (empty psk and psk_id). Also returns the
/// key, for the vector test.
fn key_schedule(shared_secret: &[u8; N_SECRET], info: &[u8]) -> (Context, Zeroizing<[u8; 32]>) {
    let psk_id_hash = labeled_extract(&HPKE_SUITE, b"", "psk_id_hash", b"");
    let info_hash = labeled_extract(&HPKE_SUITE, b"", "info_hash", info);
    let mut context = [0u8; 65];
    context[0] = 0x00; // mode_base
    context[1..33].copy_from_slice(&psk_id_hash[..]);
    context[33..].copy_from_slice(&info_hash[..]);
    let secret = labeled_extract(&HPKE_SUITE, shared_secret, "secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    labeled_expand(&HPKE_SUITE, &secret, "key", &context, &mut key[..]);
    let mut base_nonce = [0u8; N_NONCE];
    labeled_expand(
        &HPKE_SUITE,
        &secret,
        "base_nonce",
        &context,
        &mut base_nonce,
    );
    let mut exporter_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &HPKE_SUITE,
        &secret,
        "exp",
        &context,
        &mut exporter_secret[..],
    );
    let aead = ChaCha20Poly1305::new(&(*key).into());
    let ctx = Context {
        aead,
        base_nonce,
        exporter_secret,
        seq: Some(0),
    };
    (ctx, key)
}

/// RFC 9180 §5.1.1 SetupBaseS: a fresh ephemeral key from `rng`, encapsulated to `pk_r`.
pub fn setup_base_sender(
    pk_r: &[u8; 32],
    info: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<([u8; ENC_LEN], Context), HpkeError> {
    // §7.1.3: GenerateKeyPair() = DeriveKeyPair(random(Nsk)).
    let mut ikm = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut ikm[..]);
    setup_sender_from_ikm(&ikm[..], pk_r, info)
}

fn setup_sender_from_ikm(
    ikm_e: &[u8],
    pk_r: &[u8; 32],
    info: &[u8],
) -> Result<([u8; ENC_LEN], Context), HpkeError> {
    let (sk_e, pk_e) = derive_key_pair(ikm_e);
    let enc = pk_e.to_bytes();
    let shared = extract_and_expand(&sk_e, &PublicKey::from(*pk_r), &enc, pk_r)?;
    Ok((enc, key_schedule(&shared, info).0))
}

/// RFC 9180 §5.1.1 SetupBaseR: the context for `enc`, sent to the key `sk_r`.
pub fn setup_base_receiver(
    enc: &[u8; ENC_LEN],
    sk_r: &StaticSecret,
    info: &[u8],
) -> Result<Context, HpkeError> {
    let pk_rm = PublicKey::from(sk_r).to_bytes();
    let shared = extract_and_expand(sk_r, &PublicKey::from(*enc), enc, &pk_rm)?;
    Ok(key_schedule(&shared, info).0)
}

impl Context {
    /// RFC 9180 §5.2 ComputeNonce: base_nonce XOR I2OSP(seq, Nn); advances the sequence.
    fn next_nonce(&mut self) -> Result<[u8; N_NONCE], HpkeError> {
        let seq = self.seq.ok_or(HpkeError::TooLong)?;
        self.seq = seq.checked_add(1);
        let mut nonce = self.base_nonce;
        for (n, s) in nonce[N_NONCE - 8..].iter_mut().zip(seq.to_be_bytes()) {
            *n ^= s;
        }
        Ok(nonce)
    }

    /// RFC 9180 §5.2 ContextS.Seal.
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        let nonce = self.next_nonce()?;
        self.aead
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| HpkeError::TooLong)
    }

    /// RFC 9180 §5.2 ContextR.Open.
    pub fn open(&mut self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, HpkeError> {
        let nonce = self.next_nonce()?;
        self.aead
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| HpkeError::OpenFailed)
    }

    /// RFC 9180 §5.3 Context.Export(exporter_context, L); refuses L over
    /// [`MAX_EXPORT`] rather than returning fewer bytes than asked.
    pub fn export(
        &self,
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        if len > MAX_EXPORT {
            return Err(HpkeError::ExportTooLong);
        }
        let mut out = Zeroizing::new(vec![0u8; len]);
        labeled_expand(
            &HPKE_SUITE,
            &self.exporter_secret,
            "sec",
            exporter_context,
            &mut out,
        );
        Ok(out)
    }

    #[cfg(test)]
    fn set_seq(&mut self, seq: u64) {
        self.seq = Some(seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTORS: &str = include_str!("../tests/data/rfc9180-a2.txt");

    /// The value of `label: hex` in the vector file.
    fn value(label: &str) -> Vec<u8> {
        let line = VECTORS
            .lines()
            .find_map(|l| l.strip_prefix(label)?.strip_prefix(": "))
            .unwrap_or_else(|| panic!("no {label} in the vectors"));
        hex::decode(line.trim()).expect("hex")
    }

    fn array(label: &str) -> [u8; 32] {
        value(label).try_into().expect("32 bytes")
    }

    /// (label, first field, second field) for repeated entries like `ct 4: aad ct`.
    fn pairs(prefix: &str) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        VECTORS
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(|l| {
                let (label, rest) = l.split_once(": ").expect("label");
                let (a, b) = rest.split_once(' ').expect("two fields");
                let a = if a == "-" {
                    Vec::new()
                } else {
                    hex::decode(a).expect("hex")
                };
                (label.to_owned(), a, hex::decode(b).expect("hex"))
            })
            .collect()
    }

    #[test]
    fn the_suite_ids_match_the_vectors() {
        assert_eq!(value("kem_id"), KEM_ID.to_be_bytes());
        assert_eq!(value("kdf_id"), KDF_ID.to_be_bytes());
        assert_eq!(value("aead_id"), AEAD_ID.to_be_bytes());
        assert_eq!(value("mode"), [0]);
    }

    #[test]
    fn derive_key_pair_matches_a2() {
        let (sk_e, pk_e) = derive_key_pair(&value("ikmE"));
        assert_eq!(hex::encode(sk_e.to_bytes()), hex::encode(value("skEm")));
        assert_eq!(hex::encode(pk_e.as_bytes()), hex::encode(value("pkEm")));
        let (sk_r, pk_r) = derive_key_pair(&value("ikmR"));
        assert_eq!(hex::encode(sk_r.to_bytes()), hex::encode(value("skRm")));
        assert_eq!(hex::encode(pk_r.as_bytes()), hex::encode(value("pkRm")));
    }

    #[test]
    fn encap_and_key_schedule_match_a2() {
        let (sk_e, pk_e) = derive_key_pair(&value("ikmE"));
        let enc = pk_e.to_bytes();
        assert_eq!(enc.to_vec(), value("enc"));
        let pk_r = array("pkRm");
        let shared =
            extract_and_expand(&sk_e, &PublicKey::from(pk_r), &enc, &pk_r).expect("contributory");
        assert_eq!(
            hex::encode(&shared[..]),
            hex::encode(value("shared_secret"))
        );
        // The recipient's side gives the same shared secret.
        let sk_r = StaticSecret::from(array("skRm"));
        let shared_r =
            extract_and_expand(&sk_r, &PublicKey::from(enc), &enc, &pk_r).expect("contributory");
        assert_eq!(shared[..], shared_r[..]);

        let (ctx, key) = key_schedule(&shared, &value("info"));
        assert_eq!(hex::encode(&key[..]), hex::encode(value("key")));
        assert_eq!(
            hex::encode(ctx.base_nonce),
            hex::encode(value("base_nonce"))
        );
        assert_eq!(
            hex::encode(&ctx.exporter_secret[..]),
            hex::encode(value("exporter_secret"))
        );
        // The intermediate values, as the RFC lists them.
        let ks = value("key_schedule_context");
        assert_eq!(ks[0], 0);
        let info_hash = labeled_extract(&HPKE_SUITE, b"", "info_hash", &value("info"));
        assert_eq!(hex::encode(&ks[33..]), hex::encode(&info_hash[..]));
        let secret = labeled_extract(&HPKE_SUITE, &shared[..], "secret", b"");
        assert_eq!(hex::encode(&secret[..]), hex::encode(value("secret")));
    }

    #[test]
    fn encryptions_and_exports_match_a2() {
        let info = value("info");
        let pt = value("pt");
        let (enc, mut sender) =
            setup_sender_from_ikm(&value("ikmE"), &array("pkRm"), &info).expect("setup");
        let sk_r = StaticSecret::from(array("skRm"));
        let mut receiver = setup_base_receiver(&enc, &sk_r, &info).expect("setup");
        let cts = pairs("ct ");
        assert_eq!(cts.len(), 6);
        for (label, aad, ct) in &cts {
            let seq: u64 = label["ct ".len()..].parse().expect("sequence number");
            sender.set_seq(seq);
            assert_eq!(
                hex::encode(sender.seal(aad, &pt).expect("seal")),
                hex::encode(ct),
                "{label}"
            );
            receiver.set_seq(seq);
            assert_eq!(receiver.open(aad, ct).expect("open"), pt, "{label}");
        }
        let exports = pairs("export: ");
        assert_eq!(exports.len(), 3);
        for (_, context, expected) in exports {
            assert_eq!(
                hex::encode(sender.export(&context, 32).expect("32")),
                hex::encode(&expected)
            );
            assert_eq!(
                hex::encode(receiver.export(&context, 32).expect("32")),
                hex::encode(&expected)
            );
        }
        // At most 255·Nh bytes, never silently fewer than asked.
        assert_eq!(
            sender.export(b"", MAX_EXPORT).map(|o| o.len()),
            Ok(MAX_EXPORT)
        );
        assert_eq!(
            sender.export(b"", MAX_EXPORT + 1).map(|o| o.len()),
            Err(HpkeError::ExportTooLong)
        );
    }

    #[test]
    fn tampering_and_low_order_keys_are_refused() {
        let info = b"info";
        let (sk_r, pk_r) = derive_key_pair(b"recipient");
        let (enc, mut sender) =
            setup_sender_from_ikm(b"ephemeral", pk_r.as_bytes(), info).expect("setup");
        let ct = sender.seal(b"aad", b"hello").expect("seal");
        let open = |enc: &[u8; 32], info: &[u8], aad: &[u8], ct: &[u8]| {
            setup_base_receiver(enc, &sk_r, info).and_then(|mut r| r.open(aad, ct))
        };
        assert_eq!(open(&enc, info, b"aad", &ct), Ok(b"hello".to_vec()));
        for i in 0..ct.len() {
            let mut bad = ct.clone();
            bad[i] ^= 1;
            assert_eq!(open(&enc, info, b"aad", &bad), Err(HpkeError::OpenFailed));
        }
        assert_eq!(
            open(&enc, b"other", b"aad", &ct),
            Err(HpkeError::OpenFailed)
        );
        assert_eq!(open(&enc, info, b"aaD", &ct), Err(HpkeError::OpenFailed));
        let mut other_enc = enc;
        other_enc[3] ^= 0x40;
        assert_eq!(
            open(&other_enc, info, b"aad", &ct),
            Err(HpkeError::OpenFailed)
        );
        // The identity point (u = 0) gives an all-zero DH output.
        assert_eq!(
            setup_sender_from_ikm(b"e", &[0; 32], info).map(|_| ()),
            Err(HpkeError::LowOrderKey)
        );
        assert_eq!(
            open(&[0; 32], info, b"aad", &ct),
            Err(HpkeError::LowOrderKey)
        );
    }
}
