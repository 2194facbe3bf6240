//! What a finished handshake reports: the path taken and why, and what was negotiated.

use std::fmt;

use crate::auth::Side;
use crate::key_schedule::{HASH_LEN, PskKind};
use crate::msgs::enums::{CipherSuite, NamedGroup, SignatureScheme};

/// Where the shared key came from and how the peers were authenticated.
///
/// On the certificate paths key agreement is ephemeral (EC)DHE (x25519 or secp256r1) and
/// the server proves its certificate; on the PSK paths both sides prove possession of a
/// key they already share (RFC 8446 §2.2), with an (EC)DHE exchange on top for the `+dhe`
/// variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// The client stayed anonymous: ephemeral Diffie–Hellman only.
    EphemeralDh,
    /// The client proved possession of a certificate's key (mutual TLS).
    Certificate,
    /// An external PSK alone (psk_ke): no (EC)DHE, so no forward secrecy.
    Psk,
    /// An external PSK with ephemeral (EC)DHE (psk_dhe_ke).
    PskDhe,
    /// A resumption ticket alone (psk_ke).
    Resumption,
    /// A resumption ticket with ephemeral (EC)DHE (psk_dhe_ke).
    ResumptionDhe,
}

impl Path {
    /// Every path, in a stable order.
    pub const ALL: [Path; 6] = [
        Path::EphemeralDh,
        Path::Certificate,
        Path::Psk,
        Path::PskDhe,
        Path::Resumption,
        Path::ResumptionDhe,
    ];

    /// The stable lowercase name used in summaries, CLI flags and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Path::EphemeralDh => "ephemeral-dh",
            Path::Certificate => "certificate",
            Path::Psk => "psk",
            Path::PskDhe => "psk+dhe",
            Path::Resumption => "resumption",
            Path::ResumptionDhe => "resumption+dhe",
        }
    }

    /// The PSK path for a key of `kind`, with (`dhe`, psk_dhe_ke) or without (psk_ke) an
    /// (EC)DHE exchange (RFC 8446 §4.2.9).
    pub fn from_psk(kind: PskKind, dhe: bool) -> Self {
        match (kind, dhe) {
            (PskKind::External, false) => Path::Psk,
            (PskKind::External, true) => Path::PskDhe,
            (PskKind::Resumption, false) => Path::Resumption,
            (PskKind::Resumption, true) => Path::ResumptionDhe,
        }
    }

    /// Whether the key came from a pre-shared key (external or resumption).
    pub fn uses_psk(self) -> bool {
        !matches!(self, Path::EphemeralDh | Path::Certificate)
    }

    /// Whether an ephemeral (EC)DHE exchange contributed (forward secrecy).
    pub fn uses_dhe(self) -> bool {
        !matches!(self, Path::Psk | Path::Resumption)
    }

    /// Parses a name produced by [`Path::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A completed handshake, as seen by one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Which side this summary is from.
    pub side: Side,
    /// The path taken.
    pub path: Path,
    /// Why that path, in words (e.g. "client presented CN=alice, verified against
    /// CN=keylab ed25519 Root CA").
    pub reason: String,
    /// The negotiated cipher suite.
    pub cipher_suite: CipherSuite,
    /// The key exchange group; `None` on the psk_ke paths.
    pub group: Option<NamedGroup>,
    /// The scheme of the server's CertificateVerify; `None` on the PSK paths.
    pub server_signature: Option<SignatureScheme>,
    /// The scheme of the client's CertificateVerify, on the certificate path.
    pub client_signature: Option<SignatureScheme>,
    /// Whether the server asked for another ClientHello (HelloRetryRequest).
    pub hello_retry: bool,
    /// Subjects of the server's chain, leaf first: on the client, the validated path up
    /// to the trust anchor; on the server, the chain it sent.
    pub server_chain: Vec<String>,
    /// Subjects of the client's chain, leaf first (on the server, the validated path up to
    /// the trust anchor; on the client, the chain it sent); empty when anonymous.
    pub client_chain: Vec<String>,
    /// The subjectAltNames of the client's leaf (for identification, not checked).
    pub client_names: Vec<String>,
    /// Who the client proved to be: the certificate subject on the certificate path,
    /// `psk:IDENTITY` on the external PSK paths, and on resumption whatever the ticket
    /// carries from the original handshake (same forms). `None` for an anonymous client.
    pub client_identity: Option<String>,
    /// The server name the client asked for (SNI), if any.
    pub server_name: Option<String>,
    /// The application protocol agreed with ALPN (RFC 7301), as its bytes (e.g.
    /// `b"http/1.1"`); `None` when the client offered none or the server answered none.
    /// [`crate::error::alpn_text`] shows it as text.
    pub alpn: Option<Vec<u8>>,
    /// Transcript hash through the client's Finished.
    pub transcript_hash: [u8; HASH_LEN],
}

impl Summary {
    /// One line: `path=... suite=... group=... ...`.
    pub fn one_line(&self) -> String {
        let mut line = format!("path={} suite={}", self.path, self.cipher_suite);
        if let Some(g) = self.group {
            line.push_str(&format!(" group={g}"));
        }
        if let Some(s) = self.server_signature {
            line.push_str(&format!(" server_sig={s}"));
        }
        if let Some(s) = self.client_signature {
            line.push_str(&format!(" client_sig={s}"));
        }
        if self.hello_retry {
            line.push_str(" hrr=yes");
        }
        if let Some(alpn) = &self.alpn {
            line.push_str(&format!(" alpn={}", crate::error::alpn_text(alpn)));
        }
        if let Some(id) = &self.client_identity {
            line.push_str(&format!(" client=\"{id}\""));
        }
        line
    }
}
