//! Extensions (RFC 8446 §4.2) and extension blocks.
//!
//! Several extensions have a different form depending on the message that carries them
//! (key_share in ClientHello, ServerHello and HelloRetryRequest, for instance), so decoding
//! takes an [`ExtensionContext`] and the forms are separate variants of [`Extension`].
//! Decoding a block enforces the rules of §4.2 that need no negotiation state: no duplicate
//! types, each recognized extension only in the messages the §4.2 table lists, and (§4.2.11)
//! pre_shared_key last in a ClientHello. Anything this crate does not parse is kept as
//! [`Extension::Unknown`] with its bytes, so a block re-encodes byte for byte.

use std::collections::BTreeSet;
use std::ops::RangeInclusive;

use crate::codec::{
    Codec, LengthPrefix, Reader, put_list, put_opaque, put_prefixed, put_u8, put_u16, put_u32,
};
use crate::error::{DecodeError, DecodeReason, EncodeError};
use crate::msgs::enums::{
    ExtensionContext, ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    SignatureScheme,
};
use crate::msgs::psk::OfferedPsks;

/// One extension, in the form its message gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Extension {
    /// server_name in a ClientHello (RFC 6066 §3): the names the client wants.
    ServerName(Vec<ServerName>),
    /// server_name in EncryptedExtensions: empty, acknowledging the name (RFC 6066 §3).
    ServerNameAck,
    /// supported_groups (§4.2.7), in order of preference.
    SupportedGroups(Vec<NamedGroup>),
    /// signature_algorithms (§4.2.3): schemes for CertificateVerify.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// signature_algorithms_cert (§4.2.3): schemes for signatures in certificates.
    SignatureAlgorithmsCert(Vec<SignatureScheme>),
    /// key_share in a ClientHello (§4.2.8): the client's shares, possibly none.
    KeyShareClientHello(Vec<KeyShareEntry>),
    /// key_share in a ServerHello (§4.2.8): the server's one share.
    KeyShareServerHello(KeyShareEntry),
    /// key_share in a HelloRetryRequest (§4.2.8): the group the server wants a share for.
    KeyShareHelloRetryRequest(NamedGroup),
    /// supported_versions in a ClientHello (§4.2.1): versions in order of preference.
    SupportedVersionsClientHello(Vec<ProtocolVersion>),
    /// supported_versions in a ServerHello or HelloRetryRequest (§4.2.1): the chosen one.
    SupportedVersionsServerHello(ProtocolVersion),
    /// cookie (§4.2.2).
    Cookie(Vec<u8>),
    /// psk_key_exchange_modes (§4.2.9).
    PskKeyExchangeModes(Vec<PskKeyExchangeMode>),
    /// pre_shared_key in a ClientHello (§4.2.11): identities and binders.
    PreSharedKeyClientHello(OfferedPsks),
    /// pre_shared_key in a ServerHello (§4.2.11): index of the chosen identity.
    PreSharedKeyServerHello(u16),
    /// early_data in a ClientHello or EncryptedExtensions (§4.2.10): empty.
    EarlyData,
    /// early_data in a NewSessionTicket (§4.2.10): max_early_data_size.
    MaxEarlyDataSize(u32),
    /// application_layer_protocol_negotiation (RFC 7301 §3.1): the protocol names as
    /// sent. In a ClientHello one or more, most preferred first; in EncryptedExtensions
    /// exactly one, the server's choice (decoding enforces both).
    Alpn(Vec<Vec<u8>>),
    /// Any extension not parsed here, with its extension_data as received.
    Unknown {
        /// The extension type.
        typ: ExtensionType,
        /// The raw extension_data.
        bytes: Vec<u8>,
    },
}

impl Extension {
    /// The extension's type.
    pub fn ext_type(&self) -> ExtensionType {
        use ExtensionType as T;
        match self {
            Self::ServerName(_) | Self::ServerNameAck => T::ServerName,
            Self::SupportedGroups(_) => T::SupportedGroups,
            Self::SignatureAlgorithms(_) => T::SignatureAlgorithms,
            Self::SignatureAlgorithmsCert(_) => T::SignatureAlgorithmsCert,
            Self::KeyShareClientHello(_)
            | Self::KeyShareServerHello(_)
            | Self::KeyShareHelloRetryRequest(_) => T::KeyShare,
            Self::SupportedVersionsClientHello(_) | Self::SupportedVersionsServerHello(_) => {
                T::SupportedVersions
            }
            Self::Cookie(_) => T::Cookie,
            Self::PskKeyExchangeModes(_) => T::PskKeyExchangeModes,
            Self::PreSharedKeyClientHello(_) | Self::PreSharedKeyServerHello(_) => T::PreSharedKey,
            Self::EarlyData | Self::MaxEarlyDataSize(_) => T::EarlyData,
            Self::Alpn(_) => T::ApplicationLayerProtocolNegotiation,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    /// Appends `extension_type || extension_data<0..2^16-1>`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.ext_type().encode(out)?;
        put_prefixed(out, LengthPrefix::U16, "Extension.extension_data", |out| {
            self.encode_data(out)
        })
    }

    /// The encoding as a new vector.
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(out)
    }

    /// Decodes one extension as it appears in `context`.
    ///
    /// A recognized extension that §4.2's table does not allow in `context` is rejected
    /// ("MUST abort the handshake with an illegal_parameter alert").
    pub fn decode(r: &mut Reader<'_>, context: ExtensionContext) -> Result<Self, DecodeError> {
        r.group("Extension", |r| Self::decode_fields(r, context))
    }

    fn decode_fields(r: &mut Reader<'_>, context: ExtensionContext) -> Result<Self, DecodeError> {
        let typ = ExtensionType::from_u16(r.u16("Extension.extension_type")?);
        let mut d = r.vec_reader(LengthPrefix::U16, "Extension.extension_data", 0..=0xffff)?;
        if typ.permitted_in(context) == Some(false) {
            return Err(DecodeError::new(
                "Extension",
                DecodeReason::ExtensionNotAllowed {
                    extension: typ,
                    context,
                },
            ));
        }
        let ext = Self::decode_data(typ, &mut d, context)?;
        d.expect_empty(what_data(typ))?;
        Ok(ext)
    }

    fn encode_data(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        use LengthPrefix::{U8, U16};
        match self {
            Self::ServerName(names) => put_list(out, U16, "server_name_list", names),
            Self::ServerNameAck | Self::EarlyData => Ok(()),
            Self::SupportedGroups(groups) => put_list(out, U16, "named_group_list", groups),
            Self::SignatureAlgorithms(schemes) | Self::SignatureAlgorithmsCert(schemes) => {
                put_list(out, U16, "supported_signature_algorithms", schemes)
            }
            Self::KeyShareClientHello(shares) => put_list(out, U16, "client_shares", shares),
            Self::KeyShareServerHello(share) => share.encode(out),
            Self::KeyShareHelloRetryRequest(group) => group.encode(out),
            Self::SupportedVersionsClientHello(versions) => {
                put_list(out, U8, "supported_versions", versions)
            }
            Self::SupportedVersionsServerHello(version) => version.encode(out),
            Self::Cookie(cookie) => put_opaque(out, U16, "cookie", cookie),
            Self::PskKeyExchangeModes(modes) => put_list(out, U8, "ke_modes", modes),
            Self::PreSharedKeyClientHello(offer) => offer.encode(out),
            Self::PreSharedKeyServerHello(index) => {
                put_u16(out, *index);
                Ok(())
            }
            Self::MaxEarlyDataSize(size) => {
                put_u32(out, *size);
                Ok(())
            }
            Self::Alpn(names) => put_prefixed(out, U16, "protocol_name_list", |out| {
                names
                    .iter()
                    .try_for_each(|name| put_opaque(out, U8, "ProtocolName", name))
            }),
            Self::Unknown { bytes, .. } => {
                out.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    fn decode_data(
        typ: ExtensionType,
        d: &mut Reader<'_>,
        context: ExtensionContext,
    ) -> Result<Self, DecodeError> {
        use ExtensionContext as C;
        use ExtensionType as T;
        use LengthPrefix::{U8, U16};
        Ok(match (typ, context) {
            // RFC 6066 §3: server_name_list<1..2^16-1>; the server's reply is empty.
            (T::ServerName, C::ClientHello) => {
                Self::ServerName(d.list(U16, "server_name_list", 1..=0xffff, ServerName::decode)?)
            }
            (T::ServerName, _) => Self::ServerNameAck,
            (T::SupportedGroups, _) => {
                Self::SupportedGroups(d.fixed_list(U16, "named_group_list", 2..=0xffff, 2)?)
            }
            (T::SignatureAlgorithms, _) => Self::SignatureAlgorithms(signature_schemes(d)?),
            (T::SignatureAlgorithmsCert, _) => Self::SignatureAlgorithmsCert(signature_schemes(d)?),
            (T::KeyShare, C::ClientHello) => Self::KeyShareClientHello(d.list(
                U16,
                "client_shares",
                0..=0xffff,
                KeyShareEntry::decode,
            )?),
            (T::KeyShare, C::HelloRetryRequest) => Self::KeyShareHelloRetryRequest(
                NamedGroup::from_u16(d.u16("KeyShareHelloRetryRequest.selected_group")?),
            ),
            (T::KeyShare, _) => Self::KeyShareServerHello(KeyShareEntry::decode(d)?),
            (T::SupportedVersions, C::ClientHello) => Self::SupportedVersionsClientHello(
                d.fixed_list(U8, "SupportedVersions.versions", 2..=254, 2)?,
            ),
            (T::SupportedVersions, _) => Self::SupportedVersionsServerHello(
                ProtocolVersion::from_u16(d.u16("SupportedVersions.selected_version")?),
            ),
            (T::Cookie, _) => Self::Cookie(d.vec_u16("cookie", 1..=0xffff)?.to_vec()),
            (T::PskKeyExchangeModes, _) => {
                Self::PskKeyExchangeModes(d.fixed_list(U8, "ke_modes", 1..=255, 1)?)
            }
            (T::PreSharedKey, C::ClientHello) => {
                Self::PreSharedKeyClientHello(OfferedPsks::decode(d)?)
            }
            (T::PreSharedKey, _) => {
                Self::PreSharedKeyServerHello(d.u16("PreSharedKeyExtension.selected_identity")?)
            }
            (T::EarlyData, C::NewSessionTicket) => {
                Self::MaxEarlyDataSize(d.u32("EarlyDataIndication.max_early_data_size")?)
            }
            (T::EarlyData, _) => Self::EarlyData,
            (T::ApplicationLayerProtocolNegotiation, _) => Self::Alpn(protocol_names(d, context)?),
            _ => Self::Unknown {
                typ,
                bytes: d.rest("Extension.extension_data").to_vec(),
            },
        })
    }
}

/// `SignatureScheme supported_signature_algorithms<2..2^16-2>` (§4.2.3).
fn signature_schemes(d: &mut Reader<'_>) -> Result<Vec<SignatureScheme>, DecodeError> {
    d.fixed_list(
        LengthPrefix::U16,
        "supported_signature_algorithms",
        2..=0xfffe,
        2,
    )
}

/// RFC 7301 §3.1: `ProtocolName protocol_name_list<2..2^16-1>` of
/// `opaque ProtocolName<1..2^8-1>`: an empty list or an empty name is decode_error (the
/// lengths are out of their bounds). In EncryptedExtensions "the "ProtocolNameList" MUST
/// contain exactly one "ProtocolName"": a server list of two or more names is well-formed
/// but wrong, illegal_parameter (RFC 8446 §6.2).
fn protocol_names(
    d: &mut Reader<'_>,
    context: ExtensionContext,
) -> Result<Vec<Vec<u8>>, DecodeError> {
    let names = d.list(
        LengthPrefix::U16,
        "ProtocolNameList.protocol_name_list",
        2..=0xffff,
        |r| r.vec_u8("ProtocolName", 1..=0xff).map(<[u8]>::to_vec),
    )?;
    if context != ExtensionContext::ClientHello && names.len() != 1 {
        return Err(DecodeError::new(
            "ProtocolNameList.protocol_name_list",
            DecodeReason::ServerProtocolCount { count: names.len() },
        ));
    }
    Ok(names)
}

/// Names the extension_data being decoded, for error messages.
fn what_data(typ: ExtensionType) -> &'static str {
    match typ.name() {
        Some(name) => name,
        None => "unknown extension",
    }
}

/// RFC 6066 §3 `ServerName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerName {
    /// `NameType`: 0 is host_name, the only type defined.
    pub name_type: u8,
    /// The name as sent. For host_name, ASCII without a trailing dot (RFC 6066 §3).
    pub name: Vec<u8>,
}

impl ServerName {
    /// RFC 6066 §3 `host_name(0)`.
    pub const HOST_NAME: u8 = 0;

    /// A host_name entry.
    pub fn host_name(name: &str) -> Self {
        Self {
            name_type: Self::HOST_NAME,
            name: name.as_bytes().to_vec(),
        }
    }

    /// The host name, if this is a host_name entry and its bytes are ASCII.
    pub fn as_host_name(&self) -> Option<&str> {
        if self.name_type != Self::HOST_NAME || !self.name.is_ascii() {
            return None;
        }
        std::str::from_utf8(&self.name).ok()
    }
}

impl Codec for ServerName {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        put_u8(out, self.name_type);
        put_opaque(out, LengthPrefix::U16, "HostName", &self.name)
    }

    // RFC 6066 defines only host_name; other name types are read with the same
    // `opaque<1..2^16-1>` layout, which is what every deployed implementation assumes.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            name_type: r.u8("ServerName.name_type")?,
            name: r.vec_u16("HostName", 1..=0xffff)?.to_vec(),
        })
    }
}

/// RFC 8446 §4.2.8 `KeyShareEntry`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group of the key.
    pub group: NamedGroup,
    /// The public key; for x25519 the 32-byte u-coordinate (§4.2.8.2).
    pub key_exchange: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        self.group.encode(out)?;
        put_opaque(
            out,
            LengthPrefix::U16,
            "KeyShareEntry.key_exchange",
            &self.key_exchange,
        )
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.group("KeyShareEntry", |r| {
            Ok(Self {
                group: NamedGroup::from_u16(r.u16("KeyShareEntry.group")?),
                key_exchange: r
                    .vec_u16("KeyShareEntry.key_exchange", 1..=0xffff)?
                    .to_vec(),
            })
        })
    }
}

/// An extension block: `Extension extensions<min..2^16-1>` of some message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extensions(pub Vec<Extension>);

impl Extensions {
    /// Decodes a block of `context` whose byte length must lie in `bounds`.
    pub fn decode(
        r: &mut Reader<'_>,
        what: &'static str,
        bounds: RangeInclusive<usize>,
        context: ExtensionContext,
    ) -> Result<Self, DecodeError> {
        let list = r.list(LengthPrefix::U16, what, bounds, |r| {
            Extension::decode(r, context)
        })?;
        let mut seen = BTreeSet::new();
        for ext in &list {
            // §4.2: "There MUST NOT be more than one extension of the same type in a given
            // extension block." Unknown types count too.
            if !seen.insert(ext.ext_type().to_u16()) {
                return Err(DecodeError::new(
                    what,
                    DecodeReason::DuplicateExtension(ext.ext_type()),
                ));
            }
        }
        // §4.2.11: "The "pre_shared_key" extension MUST be the last extension in the
        // ClientHello ... servers MUST check that it is the last extension".
        let psk_at = list
            .iter()
            .position(|e| e.ext_type() == ExtensionType::PreSharedKey);
        if context == ExtensionContext::ClientHello && psk_at.is_some_and(|at| at + 1 != list.len())
        {
            return Err(DecodeError::new(what, DecodeReason::PreSharedKeyNotLast));
        }
        Ok(Self(list))
    }

    /// Appends the block with its two-byte length.
    pub fn encode(&self, out: &mut Vec<u8>, what: &'static str) -> Result<(), EncodeError> {
        put_prefixed(out, LengthPrefix::U16, what, |out| {
            self.0.iter().try_for_each(|ext| ext.encode(out))
        })
    }

    /// The extension of type `typ`, if present.
    pub fn get(&self, typ: ExtensionType) -> Option<&Extension> {
        self.0.iter().find(|e| e.ext_type() == typ)
    }

    /// Whether an extension of type `typ` is present.
    pub fn contains(&self, typ: ExtensionType) -> bool {
        self.get(typ).is_some()
    }

    /// The types present, in order.
    pub fn types(&self) -> impl Iterator<Item = ExtensionType> + '_ {
        self.0.iter().map(Extension::ext_type)
    }

    /// server_name of a ClientHello.
    pub fn server_names(&self) -> Option<&[ServerName]> {
        self.0.iter().find_map(|e| match e {
            Extension::ServerName(names) => Some(names.as_slice()),
            _ => None,
        })
    }

    /// supported_groups.
    pub fn supported_groups(&self) -> Option<&[NamedGroup]> {
        self.0.iter().find_map(|e| match e {
            Extension::SupportedGroups(groups) => Some(groups.as_slice()),
            _ => None,
        })
    }

    /// signature_algorithms.
    pub fn signature_algorithms(&self) -> Option<&[SignatureScheme]> {
        self.0.iter().find_map(|e| match e {
            Extension::SignatureAlgorithms(schemes) => Some(schemes.as_slice()),
            _ => None,
        })
    }

    /// signature_algorithms_cert.
    pub fn signature_algorithms_cert(&self) -> Option<&[SignatureScheme]> {
        self.0.iter().find_map(|e| match e {
            Extension::SignatureAlgorithmsCert(schemes) => Some(schemes.as_slice()),
            _ => None,
        })
    }

    /// key_share of a ClientHello.
    pub fn client_key_shares(&self) -> Option<&[KeyShareEntry]> {
        self.0.iter().find_map(|e| match e {
            Extension::KeyShareClientHello(shares) => Some(shares.as_slice()),
            _ => None,
        })
    }

    /// key_share of a ServerHello.
    pub fn server_key_share(&self) -> Option<&KeyShareEntry> {
        self.0.iter().find_map(|e| match e {
            Extension::KeyShareServerHello(share) => Some(share),
            _ => None,
        })
    }

    /// key_share of a HelloRetryRequest: the selected group.
    pub fn hello_retry_group(&self) -> Option<NamedGroup> {
        self.0.iter().find_map(|e| match e {
            Extension::KeyShareHelloRetryRequest(group) => Some(*group),
            _ => None,
        })
    }

    /// supported_versions of a ClientHello.
    pub fn client_versions(&self) -> Option<&[ProtocolVersion]> {
        self.0.iter().find_map(|e| match e {
            Extension::SupportedVersionsClientHello(versions) => Some(versions.as_slice()),
            _ => None,
        })
    }

    /// supported_versions of a ServerHello or HelloRetryRequest: the selected version.
    pub fn selected_version(&self) -> Option<ProtocolVersion> {
        self.0.iter().find_map(|e| match e {
            Extension::SupportedVersionsServerHello(version) => Some(*version),
            _ => None,
        })
    }

    /// cookie.
    pub fn cookie(&self) -> Option<&[u8]> {
        self.0.iter().find_map(|e| match e {
            Extension::Cookie(cookie) => Some(cookie.as_slice()),
            _ => None,
        })
    }

    /// psk_key_exchange_modes.
    pub fn psk_key_exchange_modes(&self) -> Option<&[PskKeyExchangeMode]> {
        self.0.iter().find_map(|e| match e {
            Extension::PskKeyExchangeModes(modes) => Some(modes.as_slice()),
            _ => None,
        })
    }

    /// pre_shared_key of a ClientHello.
    pub fn offered_psks(&self) -> Option<&OfferedPsks> {
        self.0.iter().find_map(|e| match e {
            Extension::PreSharedKeyClientHello(offer) => Some(offer),
            _ => None,
        })
    }

    /// pre_shared_key of a ServerHello: the selected identity.
    pub fn selected_psk(&self) -> Option<u16> {
        self.0.iter().find_map(|e| match e {
            Extension::PreSharedKeyServerHello(index) => Some(*index),
            _ => None,
        })
    }

    /// application_layer_protocol_negotiation: the names offered (ClientHello) or the one
    /// chosen (EncryptedExtensions).
    pub fn alpn(&self) -> Option<&[Vec<u8>]> {
        self.0.iter().find_map(|e| match e {
            Extension::Alpn(names) => Some(names.as_slice()),
            _ => None,
        })
    }

    /// early_data of a NewSessionTicket: max_early_data_size.
    pub fn max_early_data_size(&self) -> Option<u32> {
        self.0.iter().find_map(|e| match e {
            Extension::MaxEarlyDataSize(size) => Some(*size),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(bytes: &[u8], context: ExtensionContext) -> Result<Extensions, DecodeError> {
        let mut r = Reader::new(bytes);
        let exts = Extensions::decode(&mut r, "extensions", 0..=0xffff, context)?;
        r.expect_empty("extensions")?;
        Ok(exts)
    }

    #[test]
    fn duplicate_types_are_rejected_even_when_unknown() {
        let twice = [0, 8, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0];
        let err = block(&twice, ExtensionContext::ClientHello).expect_err("duplicate");
        assert_eq!(
            err.reason,
            DecodeReason::DuplicateExtension(ExtensionType::Unknown(0xffff))
        );
    }

    #[test]
    fn extension_outside_its_messages_is_rejected() {
        // A cookie (44) in a ServerHello: the §4.2 table allows it only in CH and HRR.
        let cookie = [0, 7, 0, 44, 0, 3, 0, 1, 0xaa];
        let err = block(&cookie, ExtensionContext::ServerHello).expect_err("not allowed");
        assert_eq!(
            err.reason,
            DecodeReason::ExtensionNotAllowed {
                extension: ExtensionType::Cookie,
                context: ExtensionContext::ServerHello
            }
        );
        let ok = block(&cookie, ExtensionContext::HelloRetryRequest).expect("allowed");
        assert_eq!(ok.cookie(), Some(&[0xaa][..]));
    }

    #[test]
    fn key_share_takes_the_form_of_its_message() {
        let hrr = block(
            &[0, 6, 0, 51, 0, 2, 0, 0x1d],
            ExtensionContext::HelloRetryRequest,
        )
        .expect("HRR key_share");
        assert_eq!(hrr.hello_retry_group(), Some(NamedGroup::X25519));
        // The same bytes are not a valid ServerHello KeyShareEntry (no key_exchange).
        let err = block(&[0, 6, 0, 51, 0, 2, 0, 0x1d], ExtensionContext::ServerHello)
            .expect_err("no key_exchange");
        assert_eq!(
            err.reason,
            DecodeReason::Truncated {
                needed: 2,
                available: 0
            }
        );
    }

    #[test]
    fn extension_data_must_be_used_up() {
        // supported_versions in a ServerHello with one byte too many.
        let long = [0, 7, 0, 43, 0, 3, 3, 4, 0];
        let err = block(&long, ExtensionContext::ServerHello).expect_err("trailing");
        assert_eq!(err.what, "supported_versions");
        assert_eq!(err.reason, DecodeReason::TrailingBytes { count: 1 });
    }

    #[test]
    fn unknown_extensions_round_trip() {
        let bytes = [0, 9, 0x12, 0x34, 0, 5, 1, 2, 3, 4, 5];
        let exts = block(&bytes, ExtensionContext::EncryptedExtensions).expect("unknown ok");
        let mut out = Vec::new();
        exts.encode(&mut out, "extensions").expect("encodes");
        assert_eq!(out, bytes);
    }
}
