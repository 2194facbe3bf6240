//! A blocking client for one signer ([`crate::signer`]), over keylab's TLS for `https://`
//! URLs.

use std::sync::Arc;
use std::time::Duration;

use service::{ClientError, HttpClient};

use crate::signer::MAX_BODY;
use crate::wire::{Commitment, Info, SignRequest, SignatureShare};

/// How long one request to a signer may take unless set otherwise: a handshake waits for
/// the signers, so this is short.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// One signer.
#[derive(Debug)]
pub struct SignerClient {
    http: HttpClient,
}

impl SignerClient {
    /// A signer at `base_url` over plain HTTP.
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(base_url, timeout, MAX_BODY),
        }
    }

    /// A signer at an `https://` URL, reached with `tls` (its trust anchors check the
    /// signer's certificate; its identity is the client certificate the signer asks for).
    pub fn with_tls(base_url: &str, timeout: Duration, tls: Arc<handshake::ClientConfig>) -> Self {
        Self {
            http: HttpClient::with_tls(base_url, timeout, MAX_BODY, tls),
        }
    }

    /// The signer's URL, which names it in logs.
    pub fn url(&self) -> &str {
        self.http.base()
    }

    /// The signer's public information.
    pub fn info(&self) -> Result<Info, ClientError> {
        let url = format!("{}/v1/info", self.url());
        let response = self.http.agent().get(&url).call();
        self.parse(&url, response)
    }

    /// Round 1: fresh commitments.
    pub fn round1(&self) -> Result<Commitment, ClientError> {
        let url = format!("{}/v1/round1", self.url());
        let response = self
            .http
            .agent()
            .post(&url)
            .content_type("application/json")
            .send("{}");
        self.parse(&url, response)
    }

    /// Round 2: a signature share.
    pub fn round2(&self, request: &SignRequest) -> Result<SignatureShare, ClientError> {
        let url = format!("{}/v1/round2", self.url());
        let body = serde_json::to_string(request).map_err(|e| ClientError::Input(e.to_string()))?;
        let response = self
            .http
            .agent()
            .post(&url)
            .content_type("application/json")
            .send(body.as_bytes());
        self.parse(&url, response)
    }

    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let answer = self.http.answer(url, response)?;
        serde_json::from_str(&answer.body).map_err(|e| ClientError::bad_answer(url, e.to_string()))
    }
}
