//! A remote key's CertificateVerify in the async stream: [`AsyncSigner`] is asked for the
//! signature a [`handshake::Connection`] waits for
//! ([`Connection::signature_request`](handshake::Connection::signature_request)), and the
//! handshake goes on when its future resolves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use handshake::SignatureRequest;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{TlsStream, io_error};

/// A signature, or why there is none.
pub type Signing = Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send>>;

/// Signs CertificateVerify content for a remote key (an HSM, a key service, threshold
/// signers); its future should bound its own time (the handshake timeout bounds it too).
#[derive(Clone)]
pub struct AsyncSigner(Arc<dyn Fn(SignatureRequest) -> Signing + Send + Sync>);

impl AsyncSigner {
    /// A signer calling `sign` for each request.
    pub fn new(sign: impl Fn(SignatureRequest) -> Signing + Send + Sync + 'static) -> Self {
        Self(Arc::new(sign))
    }
}

impl fmt::Debug for AsyncSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AsyncSigner")
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> TlsStream<IO> {
    /// Sets the signer a remote key's CertificateVerify is asked of.
    pub fn set_signer(&mut self, signer: AsyncSigner) {
        self.signer = Some(signer);
    }

    /// When the connection waits for a signature: asks the signer (once), and when it has
    /// answered hands the signature to the connection. Ready at once when nothing waits.
    pub(super) fn poll_signature(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(request) = self.conn.signature_request() else {
            return Poll::Ready(());
        };
        if self.signing.is_none() {
            self.signing = Some(match &self.signer {
                Some(signer) => (signer.0)(request.clone()),
                None => Box::pin(async { Err("no signer is set for the remote key".to_owned()) }),
            });
        }
        let Some(signing) = self.signing.as_mut() else {
            return Poll::Ready(());
        };
        let signed = ready!(signing.as_mut().poll(cx));
        self.signing = None;
        let result = match signed {
            Ok(signature) => self.conn.provide_signature(&signature, &mut self.out),
            Err(reason) => Err(self.conn.signature_failed(&reason, &mut self.out)),
        };
        if let Err(e) = result {
            // A refused signature leaves the request open; this handshake gives up.
            self.conn.signature_failed(&e.to_string(), &mut self.out);
            self.pending_error = Some(io_error(e));
        }
        Poll::Ready(())
    }
}
