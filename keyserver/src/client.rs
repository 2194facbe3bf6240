//! A blocking client for the key server (ureq): publishing, rotating and revoking with
//! proof of possession, and lookups. Answers are returned as sent; check them with
//! [`crate::api::verify_answer`] and a trusted log key ([`crate::trust`]).

use std::io::Read as _;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{
    self, ChallengeJson, ConsistencyJson, EntriesJson, KeyAnswer, PublishRequest, RevokeRequest,
    TreeHeadJson,
};
use crate::merkle::Hash;
use crate::name::{is_fingerprint, normalize};
use crate::registry::percent_encode;
use crate::wire::{self, Nonce, TreeHead};

/// How long one request may take, connection included, unless set otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest answer read (a key answer is a few KiB).
const MAX_ANSWER: u64 = 256 * 1024;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad input on this side (a name, a key).
    #[error("{0}")]
    Input(String),
    /// No HTTP answer.
    #[error("{url}: unreachable: {reason}")]
    Unreachable {
        /// The request URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// The server refused, with its reason.
    #[error("{url}: {status}: {message}")]
    Status {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's one-line reason.
        message: String,
    },
    /// The server answered 2xx with something unreadable.
    #[error("{url}: bad answer: {reason}")]
    BadAnswer {
        /// The request URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// One key server.
#[derive(Debug)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

impl Client {
    /// A client for the server at `base_url` (`http://host:port`).
    pub fn new(base_url: &str, timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build()
            .into();
        Self {
            base: base_url.trim_end_matches('/').to_owned(),
            agent,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.base
    }

    /// A fresh challenge nonce.
    pub fn challenge(&self) -> Result<Nonce, ClientError> {
        let url = format!("{}/challenge", self.base);
        let c: ChallengeJson = self.get_json(&url)?;
        wire::unhex_array(&c.nonce).ok_or_else(|| ClientError::BadAnswer {
            url,
            reason: "the nonce is not 64 hex digits".into(),
        })
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
        let (status, answer) = self.post_json(&format!("{}/keys", self.base), &request)?;
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
        self.post_json(&format!("{}/revocations", self.base), &request)
            .map(|(_, a)| a)
    }

    /// The key with this fingerprint.
    pub fn by_fingerprint(&self, fingerprint: &str) -> Result<KeyAnswer, ClientError> {
        self.get_json(&format!("{}/keys/{fingerprint}", self.base))
    }

    /// The latest key of `name`.
    pub fn by_name(&self, name: &str) -> Result<KeyAnswer, ClientError> {
        let name = normalize(name).map_err(|e| ClientError::Input(e.to_string()))?;
        self.get_json(&format!("{}/names/{}", self.base, percent_encode(&name)))
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
        let url = format!("{}/log/head", self.base);
        let head: TreeHeadJson = self.get_json(&url)?;
        TreeHead::try_from(&head).map_err(|e| ClientError::BadAnswer { url, reason: e.0 })
    }

    /// The consistency proof between tree sizes `first` and `second`.
    pub fn consistency(&self, first: u64, second: u64) -> Result<Vec<Hash>, ClientError> {
        let url = format!(
            "{}/log/consistency?first={first}&second={second}",
            self.base
        );
        let c: ConsistencyJson = self.get_json(&url)?;
        if c.first != first || c.second != second {
            return Err(ClientError::BadAnswer {
                url,
                reason: "a proof for other tree sizes".into(),
            });
        }
        api::path(&c.proof).map_err(|e| ClientError::BadAnswer { url, reason: e.0 })
    }

    /// Log entries from `start` up to `end` (inclusive), as many as the server gives in
    /// one answer (at least one).
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let url = format!("{}/log/entries?start={start}&end={end}", self.base);
        let answer: EntriesJson = self.get_json(&url)?;
        let bad = |reason: &str| ClientError::BadAnswer {
            url: url.clone(),
            reason: reason.into(),
        };
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
        let url = format!("{}/log/key", self.base);
        let pem = self.get_text(&url)?;
        let key = pki::PublicKey::from_pem(&pem).map_err(|e| ClientError::BadAnswer {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        if !key.is_ed25519() {
            return Err(ClientError::BadAnswer {
                url,
                reason: "the log key is not an Ed25519 key".into(),
            });
        }
        Ok(key)
    }

    /// `GET /pks/lookup?op=OP&search=SEARCH`, the body as text.
    pub fn hkp(&self, op: &str, search: &str) -> Result<String, ClientError> {
        self.get_text(&format!(
            "{}/pks/lookup?op={}&search={}",
            self.base,
            percent_encode(op),
            percent_encode(search)
        ))
    }

    fn get_text(&self, url: &str) -> Result<String, ClientError> {
        let response = self.agent.get(url).call();
        self.answer(url, response).map(|(_, body)| body)
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
            .agent
            .post(url)
            .content_type("application/json")
            .send(&body[..]);
        let (status, text) = self.answer(url, response)?;
        Ok((status, parse(url, &text)?))
    }

    /// The status and body of a 2xx answer, or the error.
    fn answer(
        &self,
        url: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<(u16, String), ClientError> {
        let mut response = response.map_err(|e| ClientError::Unreachable {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let mut body = String::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_string(&mut body)
            .map_err(|e| ClientError::Unreachable {
                url: url.to_owned(),
                reason: format!("reading the answer: {e}"),
            })?;
        if (200..300).contains(&status) {
            Ok((status, body))
        } else {
            Err(ClientError::Status {
                url: url.to_owned(),
                status,
                message: body.trim().chars().take(300).collect(),
            })
        }
    }
}

fn parse<T: DeserializeOwned>(url: &str, body: &str) -> Result<T, ClientError> {
    serde_json::from_str(body).map_err(|e| ClientError::BadAnswer {
        url: url.to_owned(),
        reason: format!("not the JSON expected: {e}"),
    })
}
