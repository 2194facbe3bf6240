//! The record layer end to end: protection round trips, limits, tampering, and byte
//! streams cut at arbitrary points (RFC 8446 §5).

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use handshake::error::{Error, InternalError, RecordError};
use handshake::key_schedule::{Secret, TrafficKeys};
use handshake::msgs::enums::{AlertDescription, ContentType, ProtocolVersion};
use handshake::msgs::{Finished, HandshakeMessage};
use handshake::record::{
    HEADER_LEN, HandshakeJoiner, Inbound, MAX_CIPHERTEXT_LEN, MAX_INNER_PLAINTEXT_LEN,
    MAX_PLAINTEXT_LEN, OpaqueRecord, PlainMessage, RecordDecrypter, RecordDeframer,
    RecordEncrypter, TAG_LEN, nonce_for, write_plaintext,
};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

fn keys() -> TrafficKeys {
    TrafficKeys::derive(
        handshake::SupportedSuite::Chacha20Poly1305Sha256,
        &Secret::from_bytes([0x42; 32]),
    )
}

fn one_record(bytes: &[u8]) -> OpaqueRecord {
    let mut d = RecordDeframer::new();
    d.push(bytes);
    let record = d.pop().expect("valid").expect("complete");
    assert_eq!(d.buffered_len(), 0, "exactly one record");
    record
}

/// A protected record whose TLSInnerPlaintext is `inner`, built with the AEAD directly so
/// that it can break the rules our encrypter follows.
fn raw_protected(keys: &TrafficKeys, seq: u64, inner: &[u8]) -> Vec<u8> {
    let len = inner.len() + TAG_LEN;
    let mut out = vec![23, 3, 3];
    out.extend_from_slice(&(len as u16).to_be_bytes());
    let aad: [u8; HEADER_LEN] = out[..].try_into().expect("5 bytes");
    let mut body = inner.to_vec();
    let aead = ChaCha20Poly1305::new_from_slice(keys.key()).expect("32-byte key");
    let nonce = Nonce::from(nonce_for(keys.iv(), seq));
    let tag = aead
        .encrypt_inout_detached(&nonce, &aad, body.as_mut_slice().into())
        .expect("encrypts");
    out.extend(body);
    out.extend_from_slice(&tag);
    out
}

#[test]
fn protected_records_round_trip_with_padding() {
    let mut enc = RecordEncrypter::new(&keys());
    let mut dec = RecordDecrypter::new(&keys());
    let cases: [(ContentType, &[u8], usize); 4] = [
        (ContentType::Handshake, b"\x14\x00\x00\x01\xaa", 0),
        (ContentType::ApplicationData, b"hello", 100),
        (ContentType::Alert, &[1, 0], 3),
        (ContentType::ApplicationData, b"", 0),
    ];
    for (typ, content, padding) in cases {
        let mut wire = Vec::new();
        enc.encrypt(typ, content, padding, &mut wire)
            .expect("encrypts");
        assert_eq!(
            wire.len(),
            HEADER_LEN + content.len() + 1 + padding + TAG_LEN
        );
        assert_eq!(
            wire[..3],
            [23, 3, 3],
            "outer type application_data, version 0x0303"
        );
        let plain = dec.decrypt(one_record(&wire)).expect("decrypts");
        assert_eq!(plain.typ, typ);
        assert_eq!(plain.payload, content);
    }
    assert_eq!(enc.next_sequence_number(), Some(4));
    assert_eq!(dec.next_sequence_number(), Some(4));
}

#[test]
fn plaintext_and_ciphertext_limits() {
    let mut enc = RecordEncrypter::new(&keys());
    let mut dec = RecordDecrypter::new(&keys());
    let mut wire = Vec::new();
    let full = vec![0x61; MAX_PLAINTEXT_LEN];
    enc.encrypt(ContentType::ApplicationData, &full, 0, &mut wire)
        .expect("2^14 bytes of content fit");
    assert_eq!(
        dec.decrypt(one_record(&wire)).expect("decrypts").payload,
        full
    );

    let mut out = Vec::new();
    assert_eq!(
        enc.encrypt(
            ContentType::ApplicationData,
            &[0; MAX_PLAINTEXT_LEN + 1],
            0,
            &mut out
        ),
        Err(InternalError::RecordTooLarge {
            len: MAX_INNER_PLAINTEXT_LEN + 1,
            max: MAX_INNER_PLAINTEXT_LEN
        }
        .into())
    );
    assert_eq!(
        enc.encrypt(
            ContentType::ApplicationData,
            b"x",
            MAX_PLAINTEXT_LEN,
            &mut out
        ),
        Err(InternalError::RecordTooLarge {
            len: MAX_INNER_PLAINTEXT_LEN + 1,
            max: MAX_INNER_PLAINTEXT_LEN
        }
        .into()),
        "padding counts towards 2^14 + 1"
    );
    assert!(
        matches!(
            enc.encrypt(ContentType::ApplicationData, b"x", usize::MAX, &mut out),
            Err(Error::Internal(InternalError::RecordTooLarge { .. }))
        ),
        "no overflow on absurd padding"
    );
    assert!(out.is_empty());
    assert_eq!(
        enc.next_sequence_number(),
        Some(1),
        "refused records use no number"
    );

    // A peer that pads beyond 2^14 + 1 (the AEAD itself would allow it): record_overflow.
    let keys = keys();
    let mut inner = vec![0u8; MAX_INNER_PLAINTEXT_LEN + 1];
    inner[0] = 23;
    let wire = raw_protected(&keys, 0, &inner);
    let err = RecordDecrypter::new(&keys)
        .decrypt(one_record(&wire))
        .expect_err("too long");
    assert_eq!(
        err,
        Error::RecordOverflow {
            length: MAX_INNER_PLAINTEXT_LEN + 1,
            limit: MAX_INNER_PLAINTEXT_LEN
        }
    );
    assert_eq!(err.alert(), Some(AlertDescription::RecordOverflow));

    // 2^14 + 256 ciphertext bytes pass the deframer; one more does not.
    let mut d = RecordDeframer::new();
    let mut header = vec![23, 3, 3];
    header.extend_from_slice(&((MAX_CIPHERTEXT_LEN + 1) as u16).to_be_bytes());
    d.push(&header);
    assert!(matches!(d.pop(), Err(Error::RecordOverflow { .. })));
}

#[test]
fn any_tampering_is_bad_record_mac_without_detail() {
    let mut wire = Vec::new();
    RecordEncrypter::new(&keys())
        .encrypt(
            ContentType::ApplicationData,
            b"attack at dawn",
            4,
            &mut wire,
        )
        .expect("encrypts");
    // Every bit of the version field (additional data) and of the encrypted record.
    for i in (1..3).chain(HEADER_LEN..wire.len()) {
        for bit in 0..8 {
            let mut bad = wire.clone();
            bad[i] ^= 1 << bit;
            let err = RecordDecrypter::new(&keys())
                .decrypt(one_record(&bad))
                .expect_err("tampered");
            assert_eq!(err, Error::DecryptFailed, "byte {i} bit {bit}");
        }
    }
    assert_eq!(Error::DecryptFailed.to_string(), "record decryption failed");
    assert_eq!(
        Error::DecryptFailed.alert(),
        Some(AlertDescription::BadRecordMac)
    );
    // A truncated record (shorter than the tag) fails the same way.
    let mut short = vec![23, 3, 3, 0, 15];
    short.extend([0; 15]);
    assert_eq!(
        RecordDecrypter::new(&keys()).decrypt(one_record(&short)),
        Err(Error::DecryptFailed)
    );
}

#[test]
fn reordered_or_replayed_records_fail() {
    let mut enc = RecordEncrypter::new(&keys());
    let mut first = Vec::new();
    let mut second = Vec::new();
    enc.encrypt(ContentType::ApplicationData, b"one", 0, &mut first)
        .expect("encrypts");
    enc.encrypt(ContentType::ApplicationData, b"two", 0, &mut second)
        .expect("encrypts");
    let mut dec = RecordDecrypter::new(&keys());
    assert_eq!(dec.decrypt(one_record(&second)), Err(Error::DecryptFailed));
    let mut dec = RecordDecrypter::new(&keys());
    dec.decrypt(one_record(&first)).expect("in order");
    assert_eq!(dec.decrypt(one_record(&first)), Err(Error::DecryptFailed));
}

#[test]
fn inner_plaintext_rules() {
    let keys = keys();
    let decrypt = |inner: &[u8]| {
        RecordDecrypter::new(&keys).decrypt(one_record(&raw_protected(&keys, 0, inner)))
    };
    // §5.4: all zeros: no content type.
    let err = decrypt(&[0, 0, 0]).expect_err("all zeros");
    assert_eq!(err, Error::Record(RecordError::NoContentType));
    assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
    assert_eq!(decrypt(&[]), Err(Error::Record(RecordError::NoContentType)));
    // §5: a protected change_cipher_spec.
    assert_eq!(
        decrypt(&[1, 20]),
        Err(Error::Record(RecordError::ProtectedChangeCipherSpec))
    );
    // An unknown inner type.
    assert_eq!(
        decrypt(&[1, 99, 0]),
        Err(Error::Record(RecordError::UnknownContentType(
            ContentType::Unknown(99)
        )))
    );
    // Zeros inside the content are content; only trailing zeros are padding.
    let plain = decrypt(&[0, 0, 7, 0, 23, 0, 0]).expect("valid");
    assert_eq!(plain.typ, ContentType::ApplicationData);
    assert_eq!(plain.payload, [0, 0, 7, 0]);
    // A plaintext record handed to the decrypter is refused.
    let mut hs = Vec::new();
    write_plaintext(
        ContentType::Handshake,
        ProtocolVersion::Tls12,
        &[20, 0, 0, 0],
        &mut hs,
    )
    .expect("writes");
    assert_eq!(
        RecordDecrypter::new(&keys).decrypt(one_record(&hs)),
        Err(Error::Record(RecordError::UnexpectedContentType(
            ContentType::Handshake
        )))
    );
}

/// Feeds `wire` to the inbound pipeline in random-sized chunks (1 to 700 bytes) and returns
/// every item; application_data records are decrypted, the others taken as plaintext.
fn read_all(wire: &[u8], keys: &TrafficKeys, seed: u64) -> Vec<Inbound> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut deframer = RecordDeframer::new();
    let mut decrypter = RecordDecrypter::new(keys);
    let mut joiner = HandshakeJoiner::new();
    let mut items = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let take = (1 + rng.next_u32() as usize % 700).min(rest.len());
        deframer.push(&rest[..take]);
        rest = &rest[take..];
        while let Some(record) = deframer.pop().expect("valid records") {
            let plain = if record.typ == ContentType::ApplicationData {
                decrypter.decrypt(record).expect("decrypts")
            } else {
                record.into_plain()
            };
            joiner.push(plain).expect("valid content");
            items.extend(std::iter::from_fn(|| joiner.pop()));
        }
    }
    assert!(!joiner.has_pending_handshake());
    items
}

#[test]
fn a_flight_split_and_merged_arbitrarily_comes_out_whole() {
    let keys = keys();
    // Plaintext: a "ServerHello" and the compatibility change_cipher_spec (§D.4).
    let server_hello = [2, 0, 0, 3, 1, 2, 3];
    let mut wire = Vec::new();
    write_plaintext(
        ContentType::Handshake,
        ProtocolVersion::Tls12,
        &server_hello,
        &mut wire,
    )
    .expect("writes");
    write_plaintext(
        ContentType::ChangeCipherSpec,
        ProtocolVersion::Tls12,
        &[1],
        &mut wire,
    )
    .expect("writes");
    // Protected: a large "Certificate" over two records, then three messages in one record.
    let mut certificate = vec![11, 0, 0x4e, 0x20];
    certificate.resize(4 + 20_000, 0x5a);
    let finished = HandshakeMessage::Finished(Finished {
        verify_data: vec![0xf1; 32],
    })
    .to_bytes()
    .expect("encodes");
    let mut coalesced = vec![8, 0, 0, 2, 0, 0];
    coalesced.extend_from_slice(&[15, 0, 0, 4, 8, 4, 0, 0]);
    coalesced.extend_from_slice(&finished);
    let mut enc = RecordEncrypter::new(&keys);
    enc.encrypt_all(ContentType::Handshake, &certificate, &mut wire)
        .expect("encrypts");
    enc.encrypt(ContentType::Handshake, &coalesced, 10, &mut wire)
        .expect("encrypts");
    enc.encrypt(ContentType::ApplicationData, b"data", 0, &mut wire)
        .expect("encrypts");
    assert_eq!(
        enc.next_sequence_number(),
        Some(4),
        "the certificate took two records"
    );

    for seed in 0..20 {
        let items = read_all(&wire, &keys, seed);
        let kinds: Vec<String> = items
            .iter()
            .map(|item| match item {
                Inbound::Handshake(raw) => raw.typ.to_string(),
                Inbound::Alert(a) => a.to_string(),
                Inbound::ChangeCipherSpec => "ccs".to_string(),
                Inbound::ApplicationData(d) => format!("data {}", d.len()),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "server_hello",
                "ccs",
                "certificate",
                "encrypted_extensions",
                "certificate_verify",
                "finished",
                "data 4"
            ],
            "seed {seed}"
        );
        let Inbound::Handshake(cert) = &items[2] else {
            unreachable!()
        };
        assert_eq!(cert.bytes, certificate);
        let Inbound::Handshake(fin) = &items[5] else {
            unreachable!()
        };
        assert_eq!(fin.bytes, finished);
        assert!(matches!(fin.decode(), Ok(HandshakeMessage::Finished(_))));
    }
}

#[test]
fn empty_protected_handshake_record_is_unexpected_message() {
    let keys = keys();
    let plain = RecordDecrypter::new(&keys)
        .decrypt(one_record(&raw_protected(&keys, 0, &[22])))
        .expect("decrypts");
    assert_eq!(
        plain,
        PlainMessage {
            typ: ContentType::Handshake,
            payload: vec![]
        }
    );
    let err = HandshakeJoiner::new().push(plain).expect_err("empty");
    assert_eq!(err.alert(), Some(AlertDescription::UnexpectedMessage));
}
