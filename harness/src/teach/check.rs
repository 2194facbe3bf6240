//! "Check it yourself": for each value the explanation computes, one shell command a reader
//! can run with common tools — python3's standard library, or python3 with the
//! `cryptography` package where the standard library lacks the primitive (X25519, P-256,
//! the AEADs) — that recomputes it from the printed inputs and prints it as hex.
//!
//! Every command prints exactly one line: the value in lowercase hex. The tests run each
//! kind of command against the handshake crate's own functions.

use handshake::SupportedSuite;

/// HKDF-Extract(salt, IKM) = HMAC-SHA256(salt, IKM) (RFC 5869 §2.2).
pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> String {
    python(&format!(
        "import hmac,hashlib; salt=bytes.fromhex('{}'); ikm=bytes.fromhex('{}'); \
         print(hmac.new(salt,ikm,hashlib.sha256).hexdigest())",
        hex::encode(salt),
        hex::encode(ikm)
    ))
}

/// HKDF-Expand-Label(Secret, Label, Context, Length) of RFC 8446 §7.1, spelling out the
/// HkdfLabel structure; `label` is without its "tls13 " prefix. Lengths up to 32 bytes
/// (one HMAC block) only: every TLS 1.3 secret, key and IV of SHA-256 suites fits.
pub fn hkdf_expand_label(secret: &[u8], label: &str, context: &[u8], len: usize) -> String {
    python(&format!(
        "import hmac,hashlib; secret=bytes.fromhex('{}'); label=b'tls13 {label}'; \
         ctx=bytes.fromhex('{}'); L={len}; \
         info=L.to_bytes(2,'big')+bytes([len(label)])+label+bytes([len(ctx)])+ctx; \
         print(hmac.new(secret,info+bytes([1]),hashlib.sha256).digest()[:L].hex())",
        hex::encode(secret),
        hex::encode(context)
    ))
}

/// A Finished verify_data or a PSK binder: HMAC(finished_key, transcript hash) (RFC 8446
/// §4.4.4, §4.2.11.2).
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> String {
    python(&format!(
        "import hmac,hashlib; print(hmac.new(bytes.fromhex('{}'),bytes.fromhex('{}'),\
         hashlib.sha256).hexdigest())",
        hex::encode(key),
        hex::encode(data)
    ))
}

/// SHA-256 of some bytes (a transcript hash, RFC 8446 §4.4.1).
pub fn sha256(bytes: &[u8]) -> String {
    python(&format!(
        "import hashlib; print(hashlib.sha256(bytes.fromhex('{}')).hexdigest())",
        hex::encode(bytes)
    ))
}

/// The X25519 shared secret of a private key and the peer's public key (RFC 7748 §6.1).
pub fn x25519(private: &[u8], peer_public: &[u8]) -> String {
    python(&format!(
        "from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey as K, \
         X25519PublicKey as P; k=K.from_private_bytes(bytes.fromhex('{}')); \
         print(k.exchange(P.from_public_bytes(bytes.fromhex('{}'))).hex())",
        hex::encode(private),
        hex::encode(peer_public)
    ))
}

/// The X25519 public key of a private key: X25519(k, 9) (RFC 7748 §6.1).
pub fn x25519_public(private: &[u8]) -> String {
    python(&format!(
        "from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey as K; \
         print(K.from_private_bytes(bytes.fromhex('{}')).public_key().public_bytes_raw().hex())",
        hex::encode(private)
    ))
}

/// The uncompressed secp256r1 point of a private scalar (SEC 1 §2.3.3).
pub fn p256_public(private: &[u8]) -> String {
    python(&format!(
        "from cryptography.hazmat.primitives.asymmetric import ec; \
         from cryptography.hazmat.primitives.serialization import Encoding as E, PublicFormat as F; \
         k=ec.derive_private_key(int('{}',16),ec.SECP256R1()); \
         print(k.public_key().public_bytes(E.X962,F.UncompressedPoint).hex())",
        hex::encode(private)
    ))
}

/// The secp256r1 ECDH shared secret (the x-coordinate, RFC 8446 §7.4.2) of a private
/// scalar and the peer's uncompressed point.
pub fn p256_ecdh(private: &[u8], peer_public: &[u8]) -> String {
    python(&format!(
        "from cryptography.hazmat.primitives.asymmetric import ec; \
         k=ec.derive_private_key(int('{}',16),ec.SECP256R1()); \
         p=ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(),bytes.fromhex('{}')); \
         print(k.exchange(ec.ECDH(),p).hex())",
        hex::encode(private),
        hex::encode(peer_public)
    ))
}

/// Opens one protected record (RFC 8446 §5.2): the AEAD of `suite` with the write key, the
/// per-record nonce and the record header as additional data, over ciphertext || tag.
/// Prints the TLSInnerPlaintext.
pub fn aead_open(
    suite: SupportedSuite,
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> String {
    let class = match suite {
        SupportedSuite::Chacha20Poly1305Sha256 => "ChaCha20Poly1305",
        SupportedSuite::Aes128GcmSha256 => "AESGCM",
    };
    python(&format!(
        "from cryptography.hazmat.primitives.ciphers.aead import {class} as A; \
         print(A(bytes.fromhex('{}')).decrypt(bytes.fromhex('{}'),bytes.fromhex('{}'),\
         bytes.fromhex('{}')).hex())",
        hex::encode(key),
        hex::encode(nonce),
        hex::encode(sealed),
        hex::encode(aad)
    ))
}

/// `python3 -c "CODE"`. The code uses single quotes only and no `$`, `` ` ``, `\` or `!`,
/// so the double-quoted shell word passes it through unchanged.
fn python(code: &str) -> String {
    debug_assert!(!code.contains(['"', '$', '`', '\\', '!']));
    format!("python3 -c \"{code}\"")
}

/// Breaks a command into lines of at most `width` characters, each but the last ending in
/// `\`: the shell removes a backslash-newline inside the double-quoted code, so the lines
/// paste back into the same command. The first line starts with `first` (an indent);
/// continuation lines start at column 0, since any character added there would become part
/// of the code.
pub fn wrap_command(command: &str, width: usize, first: &str) -> Vec<String> {
    let room = width.saturating_sub(1).max(8);
    let mut lines = Vec::new();
    let mut rest: &str = command;
    let mut prefix = first;
    loop {
        let avail = room.saturating_sub(prefix.chars().count()).max(8);
        if prefix.chars().count() + rest.chars().count() <= width {
            lines.push(format!("{prefix}{rest}"));
            return lines;
        }
        let cut = rest
            .char_indices()
            .nth(avail)
            .map_or(rest.len(), |(i, _)| i);
        lines.push(format!("{prefix}{}\\", &rest[..cut]));
        rest = &rest[cut..];
        prefix = "";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_commands_fit_and_paste_back_together() {
        let cmd = hkdf_extract(&[0u8; 32], &[1u8; 32]);
        let lines = wrap_command(&cmd, 60, "$ ");
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{lines:#?}");
        let joined: String = lines
            .iter()
            .map(|l| l.strip_suffix('\\').unwrap_or(l))
            .collect();
        assert_eq!(joined, format!("$ {cmd}"));
    }
}
