//! Client and server configuration: credentials, trust anchors, client-auth policy, key log.

use std::fmt;
use std::sync::Arc;

use pki::{Certificate, PrivateKey, PublicKey};

use crate::algorithms::{SupportedGroup, SupportedSuite};
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::CertificateEntry;
use crate::msgs::extensions::Extensions;
use crate::psk::ExternalPsk;
use crate::session::SessionCache;
use crate::tickets::Tickets;

/// A certificate chain (leaf first) with the leaf's private key, or with only the leaf's
/// public key when the signatures come from elsewhere ([`Identity::remote`]).
pub struct Identity {
    chain: Vec<Certificate>,
    key: Option<PrivateKey>,
    public: PublicKey,
    /// The chain as a Certificate message with an empty certificate_request_context
    /// (RFC 8446 §4.4.2), encoded into each handshake without copying the chain.
    message: HandshakeMessage,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("leaf", &self.leaf().subject().to_string())
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The chain is empty.
    #[error("certificate chain is empty")]
    EmptyChain,
    /// The private key does not belong to the leaf certificate.
    #[error("private key (sha256:{key}) does not match certificate {subject} (sha256:{cert})")]
    KeyMismatch {
        /// Leaf subject.
        subject: String,
        /// Fingerprint of the leaf's key.
        cert: String,
        /// Fingerprint of the private key.
        key: String,
    },
    /// The leaf's key cannot sign TLS 1.3 handshakes.
    #[error("certificate {subject} has an unusable key: {reason}")]
    UnusableKey {
        /// Leaf subject.
        subject: String,
        /// Why.
        reason: String,
    },
    /// Client authentication is on but no trust anchors were given.
    #[error("client authentication is {0} but no client trust anchors are configured")]
    NoClientAnchors(ClientAuth),
    /// Certificates or keys could not be read.
    #[error("{0}")]
    Pem(String),
}

impl Identity {
    /// A chain (leaf first) and the leaf's key; checks that they belong together.
    pub fn new(chain: Vec<Certificate>, key: PrivateKey) -> Result<Self, ConfigError> {
        let public = leaf_key(&chain)?;
        if public != *key.public_key() {
            let leaf = &chain[0];
            return Err(ConfigError::KeyMismatch {
                subject: leaf.subject().to_string(),
                cert: public.fingerprint(),
                key: key.public_key().fingerprint(),
            });
        }
        Ok(Self {
            message: certificate_message(&chain),
            chain,
            key: Some(key),
            public,
        })
    }

    /// A chain (leaf first) whose private key this process does not hold: the connection
    /// asks its caller for each CertificateVerify signature
    /// ([`crate::Connection::signature_request`]) and checks it with the leaf's key.
    pub fn remote(chain: Vec<Certificate>) -> Result<Self, ConfigError> {
        let public = leaf_key(&chain)?;
        Ok(Self {
            message: certificate_message(&chain),
            chain,
            key: None,
            public,
        })
    }

    /// Reads a PEM chain and a PEM private key.
    pub fn from_pem(chain_pem: &str, key_pem: &str) -> Result<Self, ConfigError> {
        let chain =
            Certificate::from_pem_bundle(chain_pem).map_err(|e| ConfigError::Pem(e.to_string()))?;
        let key = PrivateKey::from_pem(key_pem).map_err(|e| ConfigError::Pem(e.to_string()))?;
        Self::new(chain, key)
    }

    /// The end-entity certificate.
    pub fn leaf(&self) -> &Certificate {
        // `new` refuses empty chains.
        &self.chain[0]
    }

    /// The whole chain, leaf first.
    pub fn chain(&self) -> &[Certificate] {
        &self.chain
    }

    /// The private key; `None` for a [remote](Identity::remote) identity.
    pub fn key(&self) -> Option<&PrivateKey> {
        self.key.as_ref()
    }

    /// The leaf certificate's public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The chain as a Certificate message with an empty certificate_request_context, as
    /// both sides send it in the handshake (§4.4.2).
    pub(crate) fn certificate_message(&self) -> &HandshakeMessage {
        &self.message
    }
}

fn certificate_message(chain: &[Certificate]) -> HandshakeMessage {
    HandshakeMessage::Certificate(crate::msgs::certificate::Certificate {
        certificate_request_context: Vec::new(),
        entries: certificate_entries(chain),
    })
}

/// The certificate_list of a Certificate message carrying `chain`, without extensions.
pub(crate) fn certificate_entries(chain: &[Certificate]) -> Vec<CertificateEntry> {
    chain
        .iter()
        .map(|c| CertificateEntry {
            cert_data: c.der().to_vec(),
            extensions: Extensions::default(),
        })
        .collect()
}

/// The public key of the chain's leaf.
fn leaf_key(chain: &[Certificate]) -> Result<PublicKey, ConfigError> {
    let leaf = chain.first().ok_or(ConfigError::EmptyChain)?;
    leaf.public_key()
        .cloned()
        .map_err(|reason| ConfigError::UnusableKey {
            subject: leaf.subject().to_string(),
            reason: reason.to_owned(),
        })
}

/// Whether the server asks clients for a certificate (RFC 8446 §4.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum ClientAuth {
    /// No CertificateRequest: every client takes the ephemeral-DH path.
    #[default]
    Off,
    /// CertificateRequest is sent; a client without a certificate may continue
    /// anonymously, a client with an invalid one is refused.
    Optional,
    /// CertificateRequest is sent and a valid client certificate is required.
    Required,
}

impl ClientAuth {
    /// `off`, `optional` or `required`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Optional => "optional",
            Self::Required => "required",
        }
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Receives secrets in the NSS key log format, so that Wireshark can decrypt captures.
///
/// Labels: `CLIENT_HANDSHAKE_TRAFFIC_SECRET`, `SERVER_HANDSHAKE_TRAFFIC_SECRET`,
/// `CLIENT_TRAFFIC_SECRET_0`, `SERVER_TRAFFIC_SECRET_0`, `EXPORTER_SECRET`.
pub trait KeyLog: Send + Sync {
    /// One secret: its label, the ClientHello.random that identifies the connection, and
    /// the secret's bytes.
    fn log(&self, label: &str, client_random: &[u8; 32], secret: &[u8]);
}

/// Formats one NSS key log line (without the newline).
pub fn keylog_line(label: &str, client_random: &[u8; 32], secret: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!("{label} {} {}", hex(client_random), hex(secret))
}

/// Client configuration.
#[derive(Clone)]
pub struct ClientConfig {
    /// The cipher suites to offer, most preferred first (default: [`SupportedSuite::ALL`],
    /// whose order is explained there). Must not be empty.
    pub cipher_suites: Vec<SupportedSuite>,
    /// The groups to offer in supported_groups, most preferred first (default:
    /// [`SupportedGroup::ALL`]). The ClientHello carries a key share for the first only;
    /// a server preferring another asks for it with a HelloRetryRequest (RFC 8446
    /// §4.2.8). Must not be empty.
    pub groups: Vec<SupportedGroup>,
    /// Trust anchors for the server's certificate.
    pub trust_anchors: Vec<Certificate>,
    /// The client's certificate and key; `None` keeps the client anonymous (the
    /// ephemeral-DH path).
    pub identity: Option<Arc<Identity>>,
    /// Where to send secrets, if anywhere.
    pub key_log: Option<Arc<dyn KeyLog>>,
    /// An external PSK to offer (RFC 8446 §4.2.11). The server's certificate is then only
    /// needed if the server does not accept the key.
    pub psk: Option<ExternalPsk>,
    /// Where tickets from the server are kept, and taken from to resume (RFC 8446 §2.2).
    /// `None`: no resumption, and no psk_key_exchange_modes unless a PSK is offered.
    pub session_cache: Option<Arc<SessionCache>>,
    /// Also offers psk_ke (PSK without (EC)DHE, RFC 8446 §4.2.9). That gives up forward
    /// secrecy: whoever later learns the PSK can decrypt recorded traffic. Used only when
    /// the server allows it too.
    pub allow_psk_ke: bool,
    /// Offers psk_ke alone, without psk_dhe_ke (with `allow_psk_ke`). A server prefers
    /// psk_dhe_ke whenever it is offered (RFC 8446 §4.2.9 leaves the choice to it), so
    /// this is how a client asks for the psk_ke path.
    pub psk_ke_only: bool,
    /// Sends an empty key_share so that the server must answer with HelloRetryRequest.
    /// For tests of the HRR path only.
    pub empty_key_share_for_testing_only: bool,
    /// Middlebox compatibility mode (RFC 8446 Appendix D.4), on by default: a random
    /// 32-byte legacy_session_id, and one change_cipher_spec record before the second
    /// flight (or before the second ClientHello after a HelloRetryRequest), so that the
    /// handshake looks like a TLS 1.2 resumption to middleboxes. Off: an empty session id
    /// and no change_cipher_spec.
    pub middlebox_compat: bool,
    /// Application protocols to offer with ALPN (RFC 7301), most preferred first, e.g.
    /// `b"http/1.1"`; each 1 to 255 bytes. Empty (the default): no ALPN extension is sent.
    /// A server that answers must pick one of these, or the handshake fails with
    /// illegal_parameter.
    pub alpn_protocols: Vec<Vec<u8>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            cipher_suites: SupportedSuite::ALL.to_vec(),
            groups: SupportedGroup::ALL.to_vec(),
            trust_anchors: Vec::new(),
            identity: None,
            key_log: None,
            psk: None,
            session_cache: None,
            allow_psk_ke: false,
            psk_ke_only: false,
            empty_key_share_for_testing_only: false,
            middlebox_compat: true,
            alpn_protocols: Vec::new(),
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("cipher_suites", &self.cipher_suites)
            .field("groups", &self.groups)
            .field("trust_anchors", &self.trust_anchors.len())
            .field("identity", &self.identity)
            .field("key_log", &self.key_log.is_some())
            .field("psk", &self.psk)
            .field("session_cache", &self.session_cache.is_some())
            .field("allow_psk_ke", &self.allow_psk_ke)
            .field("psk_ke_only", &self.psk_ke_only)
            .field("middlebox_compat", &self.middlebox_compat)
            .field("alpn_protocols", &self.alpn_protocols)
            .finish_non_exhaustive()
    }
}

/// Server configuration.
#[derive(Clone)]
pub struct ServerConfig {
    /// The cipher suites to accept, most preferred first: the server picks the first of
    /// these that the client offers, whatever the client's order (RFC 8446 §4.1.1).
    /// Default: [`SupportedSuite::ALL`].
    pub cipher_suites: Vec<SupportedSuite>,
    /// The groups to accept, most preferred first: the server picks the first the client
    /// lists in supported_groups, and asks for its share with a HelloRetryRequest when the
    /// ClientHello has none for it (RFC 8446 §4.1.1, §4.2.8). Default:
    /// [`SupportedGroup::ALL`].
    pub groups: Vec<SupportedGroup>,
    /// The server's certificate chain and key; `None` for a PSK-only server, which refuses
    /// clients without an acceptable PSK with handshake_failure.
    pub identity: Option<Arc<Identity>>,
    /// Whether to ask for client certificates.
    pub client_auth: ClientAuth,
    /// Trust anchors for client certificates.
    pub client_trust_anchors: Vec<Certificate>,
    /// Where to send secrets, if anywhere.
    pub key_log: Option<Arc<dyn KeyLog>>,
    /// External PSKs clients may use (RFC 8446 §4.2.11).
    pub psks: Vec<ExternalPsk>,
    /// Whether an external PSK satisfies a `required` client-auth policy. Off by default:
    /// a required policy then takes only certificates (and tickets from certificate
    /// handshakes), and PSK offers fall back to a full handshake.
    pub psk_satisfies_client_auth: bool,
    /// Accepts psk_ke (no (EC)DHE, no forward secrecy) when the client offers it.
    pub allow_psk_ke: bool,
    /// Issues session tickets and accepts them for resumption; `None` disables both.
    pub tickets: Option<Arc<Tickets>>,
    /// Application protocols this server speaks, most preferred first (RFC 7301 §3.2:
    /// the server picks the first of these that the client offers, whatever the client's
    /// order). A client offering ALPN with none of them in common is refused with
    /// no_application_protocol. Empty (the default): the client's ALPN is ignored and none
    /// is answered.
    pub alpn_protocols: Vec<Vec<u8>>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("cipher_suites", &self.cipher_suites)
            .field("groups", &self.groups)
            .field("identity", &self.identity)
            .field("client_auth", &self.client_auth)
            .field("client_trust_anchors", &self.client_trust_anchors.len())
            .field("psks", &self.psks.len())
            .field("psk_satisfies_client_auth", &self.psk_satisfies_client_auth)
            .field("allow_psk_ke", &self.allow_psk_ke)
            .field("tickets", &self.tickets)
            .field("alpn_protocols", &self.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// A server that does not ask for client certificates.
    pub fn new(identity: Identity) -> Self {
        Self {
            identity: Some(Arc::new(identity)),
            ..Self::psk_only(Vec::new())
        }
    }

    /// A server without a certificate: only clients with one of `psks` get in.
    pub fn psk_only(psks: Vec<ExternalPsk>) -> Self {
        Self {
            cipher_suites: SupportedSuite::ALL.to_vec(),
            groups: SupportedGroup::ALL.to_vec(),
            identity: None,
            client_auth: ClientAuth::Off,
            client_trust_anchors: Vec::new(),
            key_log: None,
            psks,
            psk_satisfies_client_auth: false,
            allow_psk_ke: false,
            tickets: None,
            alpn_protocols: Vec::new(),
        }
    }

    /// Accepts these external PSKs too.
    pub fn with_psks(mut self, psks: Vec<ExternalPsk>) -> Self {
        self.psks = psks;
        self
    }

    /// Issues and accepts session tickets.
    pub fn with_tickets(mut self, tickets: Arc<Tickets>) -> Self {
        self.tickets = Some(tickets);
        self
    }

    /// Asks for client certificates with `policy`, trusting `anchors`.
    pub fn with_client_auth(
        mut self,
        policy: ClientAuth,
        anchors: Vec<Certificate>,
    ) -> Result<Self, ConfigError> {
        if policy != ClientAuth::Off && anchors.is_empty() {
            return Err(ConfigError::NoClientAnchors(policy));
        }
        self.client_auth = policy;
        self.client_trust_anchors = anchors;
        Ok(self)
    }
}
