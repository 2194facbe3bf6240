//! CertificateVerify signed outside the connection (RFC 8446 §4.4.3): for an
//! [`Identity::remote`](crate::Identity::remote) the connection asks its caller for the
//! signature and checks it with the certificate's key before sending it.

use pki::PublicKey;

use crate::auth::{self, Side};
use crate::conn::core::Core;
use crate::error::{Error, HandshakeFailure, InternalError};
use crate::key_schedule::HASH_LEN;
use crate::msgs::HandshakeMessage;
use crate::msgs::certificate::CertificateVerify;
use crate::msgs::enums::SignatureScheme;

/// A CertificateVerify signature the connection needs from its caller: `scheme` over
/// exactly [`SignatureRequest::message`] (RFC 8446 §4.4.3: 64 spaces, the context string
/// of `side`, a zero byte, the transcript hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignatureRequest {
    scheme: SignatureScheme,
    side: Side,
    message: Vec<u8>,
    public: PublicKey,
}

impl SignatureRequest {
    pub(crate) fn new(
        scheme: SignatureScheme,
        side: Side,
        transcript_hash: &[u8; HASH_LEN],
        public: PublicKey,
    ) -> Self {
        Self {
            scheme,
            side,
            message: auth::certificate_verify_message(side, transcript_hash),
            public,
        }
    }

    /// The signature scheme to sign with (RFC 8446 §4.2.3).
    pub fn scheme(&self) -> SignatureScheme {
        self.scheme
    }

    /// Which side's CertificateVerify this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The exact bytes to sign.
    pub fn message(&self) -> &[u8] {
        &self.message
    }

    /// The certificate's public key the signature must verify with.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Checks `signature` with the certificate's key; a wrong one is an error and is
    /// never sent.
    pub fn check(&self, signature: &[u8]) -> Result<(), Error> {
        let alg = auth::handshake_algorithm(self.scheme).ok_or(Error::HandshakeFailure(
            HandshakeFailure::CannotSign(self.scheme),
        ))?;
        self.public
            .verify(alg, &self.message, signature)
            .map_err(|_| Error::Internal(InternalError::BadRemoteSignature))
    }

    /// Checks `signature` and sends the CertificateVerify carrying it.
    pub(crate) fn send(
        self,
        core: &mut Core,
        signature: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.check(signature)?;
        let verify = CertificateVerify {
            algorithm: self.scheme,
            signature: signature.to_vec(),
        };
        core.send_handshake(&HandshakeMessage::CertificateVerify(verify), out)
    }
}

use crate::conn::{Connection, State, server};

impl Connection {
    /// The CertificateVerify signature this connection waits for, if it waits for one.
    ///
    /// A server configured with an [`Identity::remote`](crate::Identity::remote) writes its
    /// first flight up to the Certificate and then stops: the call order is
    ///
    /// 1. [`Connection::process`] with the ClientHello; send `out` (ServerHello and
    ///    change_cipher_spec: the encrypted flight is held until it is complete, so that it
    ///    goes out as the same record as with a local key);
    /// 2. `signature_request()` is `Some`: sign [`SignatureRequest::message`] with
    ///    [`SignatureRequest::scheme`] (a hardware module, a key service, threshold
    ///    signers);
    /// 3. [`Connection::provide_signature`]; send `out` (EncryptedExtensions through
    ///    Finished);
    ///    the handshake then goes on as with a local key.
    ///
    /// Input that arrives meanwhile can be given to `process` as usual. The connection has
    /// no clock: a caller that gives up (its own deadline, a signer that failed) calls
    /// [`Connection::signature_failed`].
    pub fn signature_request(&self) -> Option<&SignatureRequest> {
        match &self.state {
            State::Server(server::Handshake::Signing(pending)) => pending.request(),
            _ => None,
        }
    }

    /// Completes the CertificateVerify [`Connection::signature_request`] asked for with
    /// `signature`, then sends the rest of the flight to `out`. A signature that does not
    /// verify with the certificate's key is refused ([`InternalError::BadRemoteSignature`])
    /// and never sent; the request stays open for another try.
    pub fn provide_signature(&mut self, signature: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
        if let Some(reason) = &self.closed {
            return Err(Error::Closed(reason.clone()));
        }
        let Some(request) = self.signature_request() else {
            return Err(Error::Usage("no CertificateVerify signature was requested"));
        };
        request.check(signature)?;
        let State::Server(server::Handshake::Signing(pending)) =
            std::mem::replace(&mut self.state, State::Closed)
        else {
            return Err(Error::Usage("no CertificateVerify signature was requested"));
        };
        let result = pending
            .provide_signature(&mut self.core, signature, out)
            .map(|flight| State::Server(server::Handshake::WaitFlight2(flight)));
        self.state = self.settle(result, out)?;
        Ok(())
    }

    /// Ends a handshake whose signature will not come (`reason` says why), with an
    /// internal_error alert in `out` (after the part of the flight written so far,
    /// EncryptedExtensions through Certificate, as with a local key that fails to sign);
    /// returns the error. Does nothing to a connection that
    /// waits for no signature, and returns the error all the same.
    pub fn signature_failed(&mut self, reason: &str, out: &mut Vec<u8>) -> Error {
        let error = Error::Internal(InternalError::RemoteSigner(reason.to_owned()));
        if self.signature_request().is_some() {
            self.fail(&error, out);
        }
        error
    }
}
