//! The client from START to WAIT_EE, RFC 8446 Appendix A.1:
//!
//! ```text
//! START --send ClientHello--> WAIT_SH --recv ServerHello--> WAIT_EE
//!                              ^    |
//!                              +----+ recv HelloRetryRequest / send ClientHello
//! ```

use std::sync::Arc;

use time::OffsetDateTime;

use super::missing;
use crate::config::ClientConfig;
use crate::conn::client::{Common, Handshake, ServerParams};
use crate::conn::client_checks::{check_hello_retry, check_server_hello_common, client_hello};
use crate::conn::core::Core;
use crate::conn::psk;
use crate::conn::trace::TraceEvent;
use crate::conn::{Ecdhe, EphemeralKey, NOTHING_TO_OFFER, handshake_secrets};
use crate::error::{Error, Invalid};
use crate::msgs::HandshakeMessage;
use crate::msgs::client_hello::ClientHello;
use crate::msgs::enums::ExtensionType;
use crate::msgs::extensions::Extension;
use crate::msgs::server_hello::ServerHello;
use crate::states::ClientState;

/// START: what the ClientHello is made from.
pub(crate) struct Start {
    config: Arc<ClientConfig>,
    server_name: String,
}

/// WAIT_SH: the ClientHello sent, and the key behind its share.
pub(crate) struct WaitSh {
    common: Common,
    /// The key for the share of the ClientHello (not yet sent when the share was left out
    /// for testing).
    key: EphemeralKey,
    hello: ClientHello,
}

impl Start {
    /// A client that will connect to `server_name`.
    pub fn new(config: Arc<ClientConfig>, server_name: &str) -> Self {
        Self {
            config,
            server_name: server_name.to_owned(),
        }
    }

    /// START --send ClientHello--> WAIT_SH.
    pub fn client_hello(
        self,
        core: &mut Core,
        now: OffsetDateTime,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        // `Connection::client` refuses empty lists.
        let Some(&group) = self.config.groups.first() else {
            return Err(Error::Usage(NOTHING_TO_OFFER));
        };
        // RFC 8446 §4.2.8: one share, for the most preferred group.
        let key = EphemeralKey::generate(group, core);
        let offers = psk::client_offers(&self.config, &self.server_name, psk::unix_ms(now));
        let common = Common {
            config: self.config,
            server_name: self.server_name,
            hello_retry: false,
            suite: None,
            group: None,
            offers,
        };
        let random = core.random::<32>();
        core.set_client_random(random);
        // RFC 8446 Appendix D.4: "the client MUST send a non-empty session ID".
        let session_id = if common.config.middlebox_compat {
            core.random::<32>().to_vec()
        } else {
            Vec::new()
        };
        let share = (!common.config.empty_key_share_for_testing_only).then(|| key.share());
        let mut hello = client_hello(random, session_id, &common, share);
        psk::attach_binders(core, &mut hello, &common.offers)?;
        let hello = send_client_hello(core, hello, out)?;
        core.transition(ClientState::Start, ClientState::WaitSh);
        Ok(Handshake::WaitSh(WaitSh { common, key, hello }))
    }
}

impl WaitSh {
    /// WAIT_SH --HelloRetryRequest--> WAIT_SH: answer with a second ClientHello (§4.1.4).
    /// The transcript already holds message_hash and the HelloRetryRequest (§4.4.1).
    pub fn hello_retry(
        mut self,
        core: &mut Core,
        hrr: &ServerHello,
        out: &mut Vec<u8>,
    ) -> Result<Handshake, Error> {
        if self.common.hello_retry {
            return Err(Error::UnexpectedMessage {
                expected: "ServerHello",
                got: "a second HelloRetryRequest".into(),
            });
        }
        let (suite, group) = check_hello_retry(hrr, &self.hello)?;
        self.common.hello_retry = true;
        self.common.suite = Some(suite);
        core.set_suite(suite);
        // A key for the group asked for; the one made for the first ClientHello serves
        // when its share was never sent.
        if let Some(group) = group.filter(|g| *g != self.key.group()) {
            self.key = EphemeralKey::generate(group, core);
        }
        // RFC 8446 Appendix D.4: the change_cipher_spec may go before the second
        // ClientHello; it is sent only once.
        if self.common.config.middlebox_compat {
            core.send_change_cipher_spec(out)?;
        }
        let mut hello = client_hello(
            core.client_random(),
            std::mem::take(&mut self.hello.legacy_session_id),
            &self.common,
            Some(self.key.share()),
        );
        if let Some(cookie) = hrr.extensions.cookie() {
            hello.extensions.0.push(Extension::Cookie(cookie.to_vec()));
        }
        // §4.1.2: the binders are computed again, over the new transcript.
        psk::attach_binders(core, &mut hello, &self.common.offers)?;
        self.hello = send_client_hello(core, hello, out)?;
        Ok(Handshake::WaitSh(self))
    }

    /// WAIT_SH --ServerHello--> WAIT_EE: key agreement and handshake keys (§4.1.3, §7.1).
    pub fn server_hello(mut self, core: &mut Core, sh: &ServerHello) -> Result<Handshake, Error> {
        let suite = check_server_hello_common(sh, &self.hello)?;
        // §4.1.4: the ServerHello repeats the HelloRetryRequest's suite.
        if let Some(retry) = self.common.suite.filter(|s| *s != suite) {
            return Err(Error::InvalidMessage {
                message: "ServerHello",
                reason: Invalid::SuiteDiffersFromRetry {
                    retry: retry.suite(),
                    server_hello: sh.cipher_suite,
                },
            });
        }
        self.common.suite = Some(suite);
        core.set_suite(suite);
        let selected = self.selected_psk(sh)?;
        let shared = match sh.extensions.server_key_share() {
            // §4.2.8: the server's share must be for the group of the share we sent.
            Some(share) if share.group != self.key.group().group() || !self.sent_share() => {
                return Err(Error::InvalidMessage {
                    message: "ServerHello",
                    reason: Invalid::KeyShareGroupNotOffered(share.group),
                });
            }
            Some(share) => Some(self.key.agree(&share.key_exchange, "ServerHello")?),
            // §4.2.9: without a key_share the server chose psk_ke, which must have been
            // offered.
            None if selected.is_some() && self.common.config.allow_psk_ke => None,
            None => {
                return Err(missing("ServerHello", ExtensionType::KeyShare));
            }
        };
        self.common.group = shared.is_some().then(|| self.key.group());
        core.trace(&TraceEvent::Negotiated {
            suite,
            group: self.common.group,
        });
        // The transcript holds ClientHello..ServerHello (§7.1).
        let hash = core.transcript_hash();
        let psk_secret = selected.map(|i| &self.common.offers[i].secret[..]);
        let ecdhe = match (&shared, sh.extensions.server_key_share()) {
            (Some(shared), Some(share)) => Some(Ecdhe {
                key: &self.key,
                peer: &share.key_exchange,
                shared: &shared[..],
            }),
            _ => None,
        };
        let secrets = handshake_secrets(core, psk_secret, ecdhe, &hash);
        core.set_read_secret(&secrets.server)?;
        core.set_write_secret(&secrets.client)?;
        Ok(Handshake::WaitEe(ServerParams {
            common: self.common,
            secrets,
            request: None,
            alpn: None,
            psk: selected.map(|i| (i, shared.is_some())),
        }))
    }

    /// Whether the last ClientHello carried our share.
    fn sent_share(&self) -> bool {
        self.hello
            .extensions
            .client_key_shares()
            .is_some_and(|s| !s.is_empty())
    }

    /// §4.2.11: the identity the server selected, which must be one we offered.
    fn selected_psk(&self, sh: &ServerHello) -> Result<Option<usize>, Error> {
        let offered = self.common.offers.len();
        match sh.extensions.selected_psk().map(usize::from) {
            Some(i) if i < offered => Ok(Some(i)),
            Some(index) => Err(Error::InvalidMessage {
                message: "ServerHello",
                reason: Invalid::PskIdentityNotOffered { index, offered },
            }),
            None => Ok(None),
        }
    }
}

/// Sends `hello` and gives it back: the client keeps its ClientHello for checking the
/// server's answers, without a copy.
fn send_client_hello(
    core: &mut Core,
    hello: ClientHello,
    out: &mut Vec<u8>,
) -> Result<ClientHello, Error> {
    let msg = HandshakeMessage::ClientHello(hello);
    core.send_handshake(&msg, out)?;
    match msg {
        HandshakeMessage::ClientHello(hello) => Ok(hello),
        _ => unreachable!("built as a ClientHello above"),
    }
}
