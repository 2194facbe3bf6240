//! What a finished handshake reports: the path taken and why, and what was negotiated.

use std::fmt;

use crate::auth::Side;
use crate::key_schedule::HASH_LEN;
use crate::msgs::enums::{CipherSuite, NamedGroup, SignatureScheme};

/// How the client was (or was not) authenticated. Key agreement is ephemeral X25519 on
/// every path; the server always authenticates with its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Path {
    /// The client stayed anonymous: ephemeral Diffie–Hellman only.
    EphemeralDh,
    /// The client proved possession of a certificate's key (mutual TLS).
    Certificate,
}

impl Path {
    /// Every path, in a stable order.
    pub const ALL: [Path; 2] = [Path::EphemeralDh, Path::Certificate];

    /// The stable lowercase name used in summaries, CLI flags and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Path::EphemeralDh => "ephemeral-dh",
            Path::Certificate => "certificate",
        }
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
    /// The key exchange group.
    pub group: NamedGroup,
    /// The scheme of the server's CertificateVerify.
    pub server_signature: SignatureScheme,
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
    /// The server name the client asked for (SNI), if any.
    pub server_name: Option<String>,
    /// Transcript hash through the client's Finished.
    pub transcript_hash: [u8; HASH_LEN],
}

impl Summary {
    /// One line: `path=... suite=... group=... ...`.
    pub fn one_line(&self) -> String {
        let mut line = format!(
            "path={} suite={} group={} server_sig={}",
            self.path, self.cipher_suite, self.group, self.server_signature
        );
        if let Some(s) = self.client_signature {
            line.push_str(&format!(" client_sig={s}"));
        }
        if self.hello_retry {
            line.push_str(" hrr=yes");
        }
        if let Some(leaf) = self.client_chain.first() {
            line.push_str(&format!(" client=\"{leaf}\""));
        }
        line
    }
}
