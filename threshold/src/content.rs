//! What a signer signs: the content of a TLS 1.3 CertificateVerify and nothing else (RFC
//! 8446 §4.4.3), so that a signer is no general signing oracle for the group key.

/// The server's context string (RFC 8446 §4.4.3).
pub const SERVER_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";
/// The client's context string (RFC 8446 §4.4.3).
pub const CLIENT_CONTEXT: &[u8] = b"TLS 1.3, client CertificateVerify";

/// Checks that `message` is CertificateVerify content: 64 octets of 0x20, a context
/// string, a zero octet, then a transcript hash of 32 (SHA-256) or 48 (SHA-384) octets.
/// Returns which side's it is (`"server"` or `"client"`).
pub fn check_certificate_verify(message: &[u8]) -> Result<&'static str, String> {
    let Some((padding, rest)) = message.split_at_checked(64) else {
        return Err(format!(
            "{} bytes: too short for TLS 1.3 CertificateVerify content (RFC 8446 §4.4.3)",
            message.len()
        ));
    };
    if padding.iter().any(|&b| b != 0x20) {
        return Err(
            "not TLS 1.3 CertificateVerify content: it must begin with 64 spaces \
                    (RFC 8446 §4.4.3)"
                .into(),
        );
    }
    let (side, rest) = if let Some(rest) = rest.strip_prefix(SERVER_CONTEXT) {
        ("server", rest)
    } else if let Some(rest) = rest.strip_prefix(CLIENT_CONTEXT) {
        ("client", rest)
    } else {
        return Err(
            "not TLS 1.3 CertificateVerify content: no server or client \
                    CertificateVerify context string after the 64 spaces"
                .into(),
        );
    };
    let Some(hash) = rest.strip_prefix(&[0]) else {
        return Err(
            "not TLS 1.3 CertificateVerify content: no zero byte after the context \
                    string"
                .into(),
        );
    };
    if hash.len() != 32 && hash.len() != 48 {
        return Err(format!(
            "not TLS 1.3 CertificateVerify content: a {}-byte transcript hash (expected 32 \
             or 48)",
            hash.len()
        ));
    }
    Ok(side)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(context: &[u8], hash_len: usize) -> Vec<u8> {
        let mut m = vec![0x20; 64];
        m.extend_from_slice(context);
        m.push(0);
        m.extend(std::iter::repeat_n(7, hash_len));
        m
    }

    #[test]
    fn certificate_verify_content_passes() {
        assert_eq!(
            check_certificate_verify(&content(SERVER_CONTEXT, 32)),
            Ok("server")
        );
        assert_eq!(
            check_certificate_verify(&content(CLIENT_CONTEXT, 48)),
            Ok("client")
        );
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            Vec::new(),
            b"hello".to_vec(),
            content(SERVER_CONTEXT, 31),
            content(SERVER_CONTEXT, 33),
            content(b"TLS 1.3, server Finished", 32),
            [content(SERVER_CONTEXT, 32), vec![1]].concat(),
        ] {
            assert!(check_certificate_verify(&bad).is_err(), "{bad:?}");
        }
        let mut no_zero = content(SERVER_CONTEXT, 32);
        no_zero[97] = 1;
        assert!(check_certificate_verify(&no_zero).is_err());
        let mut tab = content(SERVER_CONTEXT, 32);
        tab[3] = b'\t';
        assert!(check_certificate_verify(&tab).is_err());
    }
}
