//! A blocking client for the key server (ureq): publishing, rotating and revoking with
//! proof of possession, and lookups. Answers are returned as sent; check them with
//! [`crate::api::verify_answer`] and a trusted log key ([`crate::trust`]).
//!
//! `https://` servers are reached over keylab's TLS ([`Client::with_tls`]): the server's
//! certificate must chain to the given trust anchors and name the URL's host; the client
//! stays anonymous. A failed handshake comes back as [`ClientError::Tls`], naming the
//! alert.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use service::HttpClient;
pub use service::{ClientError, DEFAULT_TIMEOUT};

use crate::api::{
    self, ChallengeJson, ConsistencyJson, EntriesJson, KeyAnswer, PublishRequest, RevokeRequest,
    TreeHeadJson,
};
use crate::merkle::Hash;
use crate::name::{is_fingerprint, normalize};
use crate::registry::percent_encode;
use crate::wire::{self, Nonce, TreeHead};

/// The largest answer read (a key answer is a few KiB).
const MAX_ANSWER: usize = 256 * 1024;

/// One key server.
#[derive(Debug)]
pub struct Client {
    http: HttpClient,
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`), in the clear.
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        Self {
            http: HttpClient::new(base_url, timeout, MAX_ANSWER),
        }
    }

    /// A client for the server at `base_url` that speaks keylab's TLS to an `https://`
    /// URL with `tls`: its trust anchors check the server's certificate, whose names must
    /// include the URL's host (RFC 6125 §6.4); without an identity in `tls` the client is
    /// anonymous (the ephemeral-DH path). An `http://` URL still goes in the clear.
    pub fn with_tls(base_url: &str, timeout: Duration, tls: Arc<handshake::ClientConfig>) -> Self {
        Self {
            http: HttpClient::with_tls(base_url, timeout, MAX_ANSWER, tls),
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        self.http.base()
    }

    /// A fresh challenge nonce.
    pub fn challenge(&self) -> Result<Nonce, ClientError> {
        let url = format!("{}/challenge", self.url());
        let c: ChallengeJson = self.get_json(&url)?;
        wire::unhex_array(&c.nonce)
            .ok_or_else(|| ClientError::bad_answer(&url, "the nonce is not 64 hex digits"))
    }

    /// Publishes `key` under `name` (normalised here). `Ok(true)` when new, `Ok(false)`
    /// when the name already had this key.
    pub fn publish(
        &self,
        key: &pki::PrivateKey,
        name: &str,
    ) -> Result<(bool, KeyAnswer), ClientError> {
        self.publish_with(key, name, None)
    }

    /// Moves `name` from its current key `current` to `new`: `new` proves possession and
    /// `current` signs the hand-over, both for the same nonce.
    pub fn rotate(
        &self,
        current: &pki::PrivateKey,
        new: &pki::PrivateKey,
        name: &str,
    ) -> Result<KeyAnswer, ClientError> {
        self.publish_with(new, name, Some(current)).map(|(_, a)| a)
    }

    fn publish_with(
        &self,
        key: &pki::PrivateKey,
        name: &str,
        handover_from: Option<&pki::PrivateKey>,
    ) -> Result<(bool, KeyAnswer), ClientError> {
        let name = normalize(name).map_err(|e| ClientError::Input(e.to_string()))?;
        let nonce = self.challenge()?;
        let request = PublishRequest::signed(key, &name, &nonce, handover_from)
            .map_err(ClientError::Input)?;
        let (status, answer) = self.post_json(&format!("{}/keys", self.url()), &request)?;
        Ok((status == 201, answer))
    }

    /// Revokes `key` (it signs its own revocation).
    pub fn revoke(&self, key: &pki::PrivateKey) -> Result<KeyAnswer, ClientError> {
        let fpr = key.public_key().fingerprint();
        // The statement names the key's name: ask the server, the signature covers it.
        let record = self.by_fingerprint(&fpr)?;
        let nonce = self.challenge()?;
        let request =
            RevokeRequest::signed(key, &record.name, &nonce).map_err(ClientError::Input)?;
        self.post_json(&format!("{}/revocations", self.url()), &request)
            .map(|(_, a)| a)
    }

    /// The key with this fingerprint.
    pub fn by_fingerprint(&self, fingerprint: &str) -> Result<KeyAnswer, ClientError> {
        self.get_json(&format!("{}/keys/{fingerprint}", self.url()))
    }

    /// The latest key of `name`.
    pub fn by_name(&self, name: &str) -> Result<KeyAnswer, ClientError> {
        let name = normalize(name).map_err(|e| ClientError::Input(e.to_string()))?;
        self.get_json(&format!("{}/names/{}", self.url(), percent_encode(&name)))
    }

    /// By fingerprint (64 hex digits) or else by name.
    pub fn lookup(&self, search: &str) -> Result<KeyAnswer, ClientError> {
        let lower = search.trim().to_ascii_lowercase();
        if is_fingerprint(&lower) {
            self.by_fingerprint(&lower)
        } else {
            self.by_name(search)
        }
    }

    /// The latest signed tree head (not yet checked).
    pub fn head(&self) -> Result<TreeHead, ClientError> {
        let url = format!("{}/log/head", self.url());
        let head: TreeHeadJson = self.get_json(&url)?;
        TreeHead::try_from(&head).map_err(|e| ClientError::bad_answer(&url, e.0))
    }

    /// The consistency proof between tree sizes `first` and `second`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, ClientError> {
        let url = format!(
            "{}/log/consistency?first={first}&second={second}",
            self.url()
        );
        let c: ConsistencyJson = self.get_json(&url)?;
        if c.first != first || c.second != second {
            return Err(ClientError::bad_answer(
                &url,
                "a proof for other tree sizes",
            ));
        }
        api::path(&c.proof).map_err(|e| ClientError::bad_answer(&url, e.0))
    }

    /// Log entries from `start` up to `end` (inclusive), as many as the server gives in
    /// one answer (at least one).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let url = format!("{}/log/entries?start={start}&end={end}", self.url());
        let answer: EntriesJson = self.get_json(&url)?;
        let bad = |reason: &str| ClientError::bad_answer(&url, reason);
        let asked = end.saturating_sub(start).saturating_add(1);
        if answer.start != start || answer.entries.is_empty() || answer.entries.len() as u64 > asked
        {
            return Err(bad("not the entries asked for"));
        }
        answer
            .entries
            .iter()
            .map(|e| api::unb64(e, "an entry").map_err(|e| bad(&e.0)))
            .collect()
    }

    /// The log's public key as the server states it (trust it once, then pin it).
    pub fn log_key(&self) -> Result<pki::PublicKey, ClientError> {
        let url = format!("{}/log/key", self.url());
        let pem = self.get_text(&url)?;
        let key = pki::PublicKey::from_pem(&pem)
            .map_err(|e| ClientError::bad_answer(&url, e.to_string()))?;
        if !key.is_ed25519() {
            return Err(ClientError::bad_answer(
                &url,
                "the log key is not an Ed25519 key",
            ));
        }
        Ok(key)
    }

    /// `GET /pks/lookup?op=OP&search=SEARCH`, the body as text.
    pub fn hkp(&self, op: &str, search: &str) -> Result<String, ClientError> {
        self.get_text(&format!(
            "{}/pks/lookup?op={}&search={}",
            self.url(),
            percent_encode(op),
            percent_encode(search)
        ))
    }

    fn get_text(&self, url: &str) -> Result<String, ClientError> {
        let response = self.http.agent().get(url).call();
        let mut answer = self.http.answer(url, response)?;
        Ok(std::mem::take(&mut *answer.body))
    }

    fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, ClientError> {
        let body = self.get_text(url)?;
        parse(url, &body)
    }

    fn post_json<T: DeserializeOwned>(
        &self,
        url: &str,
        request: &impl Serialize,
    ) -> Result<(u16, T), ClientError> {
        let body = serde_json::to_vec(request).map_err(|e| ClientError::Input(e.to_string()))?;
        let response = self
            .http
            .agent()
            .post(url)
            .content_type("application/json")
            .send(&body[..]);
        let answer = self.http.answer(url, response)?;
        Ok((answer.status, parse(url, &answer.body)?))
    }
}

fn parse<T: DeserializeOwned>(url: &str, body: &str) -> Result<T, ClientError> {
    serde_json::from_str(body)
        .map_err(|e| ClientError::bad_answer(url, format!("not the JSON expected: {e}")))
}
