//! Property tests of the message codec: every generated handshake message — each message
//! type, with extension blocks drawn for its own context — encodes, decodes to the same
//! value and re-encodes to the same bytes; and arbitrary bytes either fail to decode or
//! re-encode exactly (the `codec` fuzz target's property, on random inputs).
//!
//! Generators produce values the decoder accepts: vector bounds, no duplicate extension
//! types, each extension only in a message the RFC 8446 §4.2 table allows, pre_shared_key
//! last in a ClientHello, and code points in their canonical form (`from_u16`).

use handshake::error::DecodeReason;
use handshake::msgs::enums::{
    CipherSuite, ExtensionContext, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion,
    PskKeyExchangeMode, SignatureScheme,
};
use handshake::msgs::{
    Certificate, CertificateEntry, CertificateRequest, CertificateVerify, ClientHello,
    EncryptedExtensions, Extension, Extensions, Finished, HELLO_RETRY_REQUEST_RANDOM,
    HandshakeMessage, KeyShareEntry, KeyUpdate, KeyUpdateRequest, MessageHash, NewSessionTicket,
    OfferedPsks, PskIdentity, ServerHello, ServerName,
};
use proptest::collection::vec;
use proptest::prelude::*;

const C: ExtensionContext = ExtensionContext::ClientHello;

fn bytes(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), len)
}

fn group() -> impl Strategy<Value = NamedGroup> {
    prop_oneof![
        Just(NamedGroup::X25519),
        any::<u16>().prop_map(NamedGroup::from_u16)
    ]
}

fn scheme() -> impl Strategy<Value = SignatureScheme> {
    prop_oneof![
        Just(SignatureScheme::Ed25519),
        any::<u16>().prop_map(SignatureScheme::from_u16)
    ]
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![
        Just(ProtocolVersion::Tls13),
        any::<u16>().prop_map(ProtocolVersion::from_u16)
    ]
}

fn key_share() -> impl Strategy<Value = KeyShareEntry> {
    (group(), bytes(1..=40)).prop_map(|(group, key_exchange)| KeyShareEntry {
        group,
        key_exchange,
    })
}

fn offered_psks() -> impl Strategy<Value = OfferedPsks> {
    vec((bytes(1..=20), any::<u32>(), bytes(32..=48)), 1..4).prop_map(|list| OfferedPsks {
        identities: list
            .iter()
            .map(|(identity, age, _)| PskIdentity {
                identity: identity.clone(),
                obfuscated_ticket_age: *age,
            })
            .collect(),
        binders: list.into_iter().map(|(_, _, binder)| binder).collect(),
    })
}

/// An extension type this crate does not parse, which every message may carry.
fn unknown_extension() -> impl Strategy<Value = Extension> {
    let typ = prop_oneof![
        (0xff02u16..=0xffff).prop_map(ExtensionType::from_u16),
        Just(ExtensionType::RecordSizeLimit),
        Just(ExtensionType::SessionTicket),
        Just(ExtensionType::RenegotiationInfo),
    ];
    (typ, bytes(0..=30)).prop_map(|(typ, bytes)| Extension::Unknown { typ, bytes })
}

/// One extension in the form `context` gives it.
fn extension(context: ExtensionContext) -> BoxedStrategy<Extension> {
    use ExtensionContext as X;
    let names = vec(
        (any::<u8>(), bytes(1..=20)).prop_map(|(name_type, name)| ServerName { name_type, name }),
        1..3,
    );
    let mut options: Vec<BoxedStrategy<Extension>> = vec![unknown_extension().boxed()];
    let mut add = |s: BoxedStrategy<Extension>| options.push(s);
    match context {
        X::ClientHello => {
            add(names.prop_map(Extension::ServerName).boxed());
            add(vec(key_share(), 0..3)
                .prop_map(Extension::KeyShareClientHello)
                .boxed());
            add(vec(version(), 1..5)
                .prop_map(Extension::SupportedVersionsClientHello)
                .boxed());
            add(bytes(1..=20).prop_map(Extension::Cookie).boxed());
            add(vec(any::<u8>(), 1..4)
                .prop_map(|m| {
                    Extension::PskKeyExchangeModes(
                        m.into_iter().map(PskKeyExchangeMode::from_u8).collect(),
                    )
                })
                .boxed());
            add(offered_psks()
                .prop_map(Extension::PreSharedKeyClientHello)
                .boxed());
            add(Just(Extension::EarlyData).boxed());
            // RFC 7301 §3.1: one or more names of 1..255 bytes.
            add(vec(bytes(1..=12), 1..4).prop_map(Extension::Alpn).boxed());
        }
        X::ServerHello => {
            add(key_share().prop_map(Extension::KeyShareServerHello).boxed());
            add(version()
                .prop_map(Extension::SupportedVersionsServerHello)
                .boxed());
            add(any::<u16>()
                .prop_map(Extension::PreSharedKeyServerHello)
                .boxed());
        }
        X::HelloRetryRequest => {
            add(group()
                .prop_map(Extension::KeyShareHelloRetryRequest)
                .boxed());
            add(version()
                .prop_map(Extension::SupportedVersionsServerHello)
                .boxed());
            add(bytes(1..=20).prop_map(Extension::Cookie).boxed());
        }
        X::EncryptedExtensions => {
            add(Just(Extension::ServerNameAck).boxed());
            add(Just(Extension::EarlyData).boxed());
            // RFC 7301 §3.1: the server's answer is exactly one name.
            add(bytes(1..=12)
                .prop_map(|name| Extension::Alpn(vec![name]))
                .boxed());
        }
        X::NewSessionTicket => add(any::<u32>().prop_map(Extension::MaxEarlyDataSize).boxed()),
        _ => {}
    }
    if matches!(context, X::ClientHello | X::EncryptedExtensions) {
        add(vec(group(), 1..4)
            .prop_map(Extension::SupportedGroups)
            .boxed());
    }
    if matches!(context, X::ClientHello | X::CertificateRequest) {
        add(vec(scheme(), 1..4)
            .prop_map(Extension::SignatureAlgorithms)
            .boxed());
        add(vec(scheme(), 1..4)
            .prop_map(Extension::SignatureAlgorithmsCert)
            .boxed());
    }
    proptest::strategy::Union::new(options).boxed()
}

/// An extension block for `context` with between `min` and 6 extensions: duplicates
/// dropped, pre_shared_key moved last in a ClientHello (RFC 8446 §4.2, §4.2.11).
fn extensions(context: ExtensionContext, min: usize) -> impl Strategy<Value = Extensions> {
    vec(extension(context), min..7).prop_map(move |list| {
        let mut seen = std::collections::BTreeSet::new();
        let mut list: Vec<Extension> = list
            .into_iter()
            .filter(|e| seen.insert(e.ext_type().to_u16()))
            .collect();
        if context == C {
            list.sort_by_key(|e| e.ext_type() == ExtensionType::PreSharedKey);
        }
        Extensions(list)
    })
}

fn client_hello() -> impl Strategy<Value = HandshakeMessage> {
    (
        version(),
        any::<[u8; 32]>(),
        bytes(0..=32),
        vec(any::<u16>().prop_map(CipherSuite::from_u16), 1..6),
        bytes(1..=3),
        extensions(C, 0),
    )
        .prop_map(
            |(legacy_version, random, sid, cipher_suites, comp, extensions)| {
                HandshakeMessage::ClientHello(ClientHello {
                    legacy_version,
                    random,
                    legacy_session_id: sid,
                    cipher_suites,
                    legacy_compression_methods: comp,
                    extensions,
                })
            },
        )
}

fn server_hello(hrr: bool) -> impl Strategy<Value = HandshakeMessage> {
    let context = if hrr {
        ExtensionContext::HelloRetryRequest
    } else {
        ExtensionContext::ServerHello
    };
    (
        version(),
        any::<[u8; 32]>(),
        bytes(0..=32),
        any::<u16>().prop_map(CipherSuite::from_u16),
        any::<u8>(),
        extensions(context, 0),
    )
        .prop_map(
            move |(legacy_version, random, sid, cipher_suite, comp, extensions)| {
                let sh = ServerHello {
                    legacy_version,
                    random: if hrr {
                        HELLO_RETRY_REQUEST_RANDOM
                    } else {
                        random
                    },
                    legacy_session_id_echo: sid,
                    cipher_suite,
                    legacy_compression_method: comp,
                    extensions,
                };
                if hrr {
                    HandshakeMessage::HelloRetryRequest(sh)
                } else {
                    HandshakeMessage::ServerHello(sh)
                }
            },
        )
}

fn certificate() -> impl Strategy<Value = HandshakeMessage> {
    let entry = (bytes(1..=80), extensions(ExtensionContext::Certificate, 0)).prop_map(
        |(cert_data, extensions)| CertificateEntry {
            cert_data,
            extensions,
        },
    );
    (bytes(0..=8), vec(entry, 0..4)).prop_map(|(ctx, entries)| {
        HandshakeMessage::Certificate(Certificate {
            certificate_request_context: ctx,
            entries,
        })
    })
}

fn other_message() -> impl Strategy<Value = HandshakeMessage> {
    prop_oneof![
        extensions(ExtensionContext::EncryptedExtensions, 0).prop_map(|extensions| {
            HandshakeMessage::EncryptedExtensions(EncryptedExtensions { extensions })
        }),
        (
            bytes(0..=8),
            extensions(ExtensionContext::CertificateRequest, 1)
        )
            .prop_map(|(ctx, extensions)| HandshakeMessage::CertificateRequest(
                CertificateRequest {
                    certificate_request_context: ctx,
                    extensions,
                }
            )),
        (scheme(), bytes(0..=80)).prop_map(|(algorithm, signature)| {
            HandshakeMessage::CertificateVerify(CertificateVerify {
                algorithm,
                signature,
            })
        }),
        bytes(0..=48).prop_map(|verify_data| HandshakeMessage::Finished(Finished { verify_data })),
        (
            any::<(u32, u32)>(),
            bytes(0..=16),
            bytes(1..=40),
            extensions(ExtensionContext::NewSessionTicket, 0)
        )
            .prop_map(|((lifetime, age_add), nonce, ticket, extensions)| {
                HandshakeMessage::NewSessionTicket(NewSessionTicket {
                    ticket_lifetime: lifetime,
                    ticket_age_add: age_add,
                    ticket_nonce: nonce,
                    ticket,
                    extensions,
                })
            }),
        any::<bool>().prop_map(|requested| HandshakeMessage::KeyUpdate(KeyUpdate {
            request_update: if requested {
                KeyUpdateRequest::UpdateRequested
            } else {
                KeyUpdateRequest::UpdateNotRequested
            },
        })),
        Just(HandshakeMessage::EndOfEarlyData),
        bytes(0..=48).prop_map(|hash| HandshakeMessage::MessageHash(MessageHash { hash })),
        (any::<u8>(), bytes(0..=40)).prop_filter_map("a type TLS 1.3 defines", |(typ, body)| {
            let typ = HandshakeType::from_u8(typ);
            matches!(typ, HandshakeType::Unknown(_))
                .then_some(HandshakeMessage::Unknown { typ, body })
        }),
    ]
}

fn message() -> impl Strategy<Value = HandshakeMessage> {
    prop_oneof![
        client_hello(),
        server_hello(false),
        server_hello(true),
        certificate(),
        other_message(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_message_round_trips(msg in message()) {
        let bytes = msg.to_bytes().expect("generated messages fit their length prefixes");
        let decoded = HandshakeMessage::decode(&bytes)
            .unwrap_or_else(|e| panic!("{} does not decode: {e}", msg.name()));
        prop_assert_eq!(&decoded, &msg);
        prop_assert_eq!(decoded.to_bytes().expect("encodes"), bytes);
    }

    #[test]
    fn every_proper_prefix_fails_to_decode(msg in message(), cut in any::<prop::sample::Index>()) {
        let bytes = msg.to_bytes().expect("encodes");
        let len = cut.index(bytes.len());
        let result = HandshakeMessage::decode(&bytes[..len]);
        prop_assert!(
            matches!(&result, Err(e) if matches!(e.reason, DecodeReason::Truncated { .. })),
            "{:?}",
            result
        );
    }

    #[test]
    fn arbitrary_bytes_decode_only_to_what_re_encodes_to_them(
        typ in prop::sample::select(vec![1u8, 2, 4, 5, 8, 11, 13, 15, 20, 24, 254, 99]),
        body in bytes(0..=64),
    ) {
        let mut input = vec![typ, 0, 0, body.len() as u8];
        input.extend(&body);
        if let Some(msg) = handshake::fuzzing::codec(&input) {
            prop_assert_eq!(msg.to_bytes().expect("encodes"), input);
        }
    }
}
