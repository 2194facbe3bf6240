//! The state machines of RFC 8446 Appendix A as data, for diagrams and for checking that
//! the code only ever takes the transitions listed here.
//!
//! [`ClientState`] and [`ServerState`] name the states; their `Display` is the RFC's
//! spelling (`WAIT_SH`, `RECVD_CH`, ...). The connection's state machines in `conn` report
//! every transition they take through the trace hook as a pair of [`StateName`]s, and each
//! must appear in [`CLIENT_TRANSITIONS`] or [`SERVER_TRANSITIONS`] (the tests check this).

use std::fmt;

use crate::summary::Path;

/// A client state, RFC 8446 Appendix A.1. `Display` writes the RFC's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientState {
    /// START: the ClientHello is not sent yet.
    Start,
    /// WAIT_SH: waiting for ServerHello (or HelloRetryRequest).
    WaitSh,
    /// WAIT_EE: waiting for EncryptedExtensions.
    WaitEe,
    /// WAIT_CERT_CR: waiting for CertificateRequest or Certificate.
    WaitCertCr,
    /// WAIT_CERT: waiting for the server's Certificate.
    WaitCert,
    /// WAIT_CV: waiting for the server's CertificateVerify.
    WaitCv,
    /// WAIT_FINISHED: waiting for the server's Finished.
    WaitFinished,
    /// CONNECTED: the handshake is complete.
    Connected,
}

impl ClientState {
    /// The RFC 8446 Appendix A.1 name.
    pub fn name(self) -> &'static str {
        match self {
            ClientState::Start => "START",
            ClientState::WaitSh => "WAIT_SH",
            ClientState::WaitEe => "WAIT_EE",
            ClientState::WaitCertCr => "WAIT_CERT_CR",
            ClientState::WaitCert => "WAIT_CERT",
            ClientState::WaitCv => "WAIT_CV",
            ClientState::WaitFinished => "WAIT_FINISHED",
            ClientState::Connected => "CONNECTED",
        }
    }
}

/// A server state, RFC 8446 Appendix A.2. `Display` writes the RFC's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServerState {
    /// START: waiting for a ClientHello.
    Start,
    /// RECVD_CH: a ClientHello arrived; the server checks it and picks a PSK, or asks
    /// again with a HelloRetryRequest.
    RecvdCh,
    /// NEGOTIATED: parameters are chosen; the server sends its first flight.
    Negotiated,
    /// WAIT_FLIGHT2: the first flight is out; what comes next depends on whether a
    /// CertificateRequest was part of it.
    WaitFlight2,
    /// WAIT_CERT: waiting for the client's Certificate.
    WaitCert,
    /// WAIT_CV: waiting for the client's CertificateVerify.
    WaitCv,
    /// WAIT_FINISHED: waiting for the client's Finished.
    WaitFinished,
    /// CONNECTED: the handshake is complete.
    Connected,
}

impl ServerState {
    /// The RFC 8446 Appendix A.2 name.
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Start => "START",
            ServerState::RecvdCh => "RECVD_CH",
            ServerState::Negotiated => "NEGOTIATED",
            ServerState::WaitFlight2 => "WAIT_FLIGHT2",
            ServerState::WaitCert => "WAIT_CERT",
            ServerState::WaitCv => "WAIT_CV",
            ServerState::WaitFinished => "WAIT_FINISHED",
            ServerState::Connected => "CONNECTED",
        }
    }
}

/// A state of either side, or `CLOSED`: what [`Connection::state`] returns and what a
/// [`TraceEvent::Transition`] names. `Display` writes the RFC 8446 Appendix A name.
///
/// [`Connection::state`]: crate::Connection::state
/// [`TraceEvent::Transition`]: crate::TraceEvent::Transition
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StateName {
    /// A state of the client's machine.
    Client(ClientState),
    /// A state of the server's machine.
    Server(ServerState),
    /// Not an Appendix A state: the connection failed, was closed during the handshake or
    /// lost its transport. No transition leads here.
    Closed,
}

impl StateName {
    /// The RFC 8446 Appendix A name, or `CLOSED`.
    pub fn name(self) -> &'static str {
        match self {
            StateName::Client(s) => s.name(),
            StateName::Server(s) => s.name(),
            StateName::Closed => "CLOSED",
        }
    }
}

impl From<ClientState> for StateName {
    fn from(state: ClientState) -> Self {
        StateName::Client(state)
    }
}

impl From<ServerState> for StateName {
    fn from(state: ServerState) -> Self {
        StateName::Server(state)
    }
}

// `pad`, not `write_str`, so that tables can align the names with `{:<14}`.
impl fmt::Display for ClientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl fmt::Display for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

/// One arrow of a state diagram, between states of one side (`S` is [`ClientState`] or
/// [`ServerState`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition<S> {
    /// State before.
    pub from: S,
    /// What causes it: a message received ("recv ...") or sent ("send ...").
    pub on: &'static str,
    /// State after.
    pub to: S,
    /// The path this arrow belongs to, when it is specific to one.
    pub path: Option<Path>,
}

const fn t<S>(from: S, on: &'static str, to: S, path: Option<Path>) -> Transition<S> {
    Transition { from, on, to, path }
}

const EPH: Option<Path> = Some(Path::EphemeralDh);
const CERT: Option<Path> = Some(Path::Certificate);
const PSK: Option<Path> = Some(Path::Psk);

/// Client states, RFC 8446 Appendix A.1, in the order of a handshake.
pub const CLIENT_STATES: [ClientState; 8] = {
    use ClientState::*;
    [
        Start,
        WaitSh,
        WaitEe,
        WaitCertCr,
        WaitCert,
        WaitCv,
        WaitFinished,
        Connected,
    ]
};

/// Server states, RFC 8446 Appendix A.2, in the order of a handshake.
pub const SERVER_STATES: [ServerState; 8] = {
    use ServerState::*;
    [
        Start,
        RecvdCh,
        Negotiated,
        WaitFlight2,
        WaitCert,
        WaitCv,
        WaitFinished,
        Connected,
    ]
};

/// Client transitions (Appendix A.1, without early data).
pub const CLIENT_TRANSITIONS: [Transition<ClientState>; 10] = {
    use ClientState::*;
    [
        t(Start, "send ClientHello", WaitSh, None),
        t(
            WaitSh,
            "recv HelloRetryRequest / send ClientHello",
            WaitSh,
            None,
        ),
        t(WaitSh, "recv ServerHello", WaitEe, None),
        t(WaitEe, "recv EncryptedExtensions", WaitCertCr, None),
        t(
            WaitEe,
            "recv EncryptedExtensions (using PSK)",
            WaitFinished,
            PSK,
        ),
        t(WaitCertCr, "recv CertificateRequest", WaitCert, None),
        t(
            WaitCertCr,
            "recv Certificate (no client certificate asked for)",
            WaitCv,
            EPH,
        ),
        t(WaitCert, "recv Certificate", WaitCv, None),
        t(WaitCv, "recv CertificateVerify", WaitFinished, None),
        t(
            WaitFinished,
            "recv Finished / send [Certificate [+ CertificateVerify]] Finished",
            Connected,
            None,
        ),
    ]
};

/// Server transitions (Appendix A.2, without early data).
pub const SERVER_TRANSITIONS: [Transition<ServerState>; 11] = {
    use ServerState::*;
    [
        t(Start, "recv ClientHello", RecvdCh, None),
        t(RecvdCh, "send HelloRetryRequest", Start, None),
        t(RecvdCh, "select parameters", Negotiated, None),
        t(
            Negotiated,
            "send ServerHello, EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished",
            WaitFlight2,
            None,
        ),
        t(
            Negotiated,
            "send ServerHello (pre_shared_key), EncryptedExtensions, Finished",
            WaitFlight2,
            PSK,
        ),
        t(
            WaitFlight2,
            "no CertificateRequest sent",
            WaitFinished,
            None,
        ),
        t(WaitFlight2, "CertificateRequest sent", WaitCert, None),
        t(WaitCert, "recv empty Certificate", WaitFinished, EPH),
        t(WaitCert, "recv Certificate", WaitCv, CERT),
        t(WaitCv, "recv CertificateVerify", WaitFinished, CERT),
        t(WaitFinished, "recv Finished", Connected, None),
    ]
};

/// Whether `from → to` is an arrow of its side's table (never for `CLOSED`, nor between
/// the two sides).
pub fn is_listed(from: StateName, to: StateName) -> bool {
    match (from, to) {
        (StateName::Client(from), StateName::Client(to)) => in_table(&CLIENT_TRANSITIONS, from, to),
        (StateName::Server(from), StateName::Server(to)) => in_table(&SERVER_TRANSITIONS, from, to),
        _ => false,
    }
}

fn in_table<S: PartialEq>(table: &[Transition<S>], from: S, to: S) -> bool {
    table.iter().any(|t| t.from == from && t.to == to)
}

/// A Graphviz `dot` rendering of a table.
pub fn to_dot<S: fmt::Display>(name: &str, table: &[Transition<S>]) -> String {
    let mut out = format!("digraph {name} {{\n  rankdir=TB;\n  node [shape=box];\n");
    for t in table {
        let style = match t.path {
            Some(Path::Certificate) => ", color=blue",
            Some(Path::Psk) => ", color=darkorange",
            Some(_) => ", color=darkgreen",
            None => "",
        };
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{}\"{style}];\n",
            t.from, t.to, t.on
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every state is in its table, and every state but CONNECTED has a way out.
    fn check_table<S: Copy + PartialEq + fmt::Debug>(states: &[S], table: &[Transition<S>]) {
        for s in states {
            assert!(
                table.iter().any(|t| t.from == *s || t.to == *s),
                "{s:?} is in no transition"
            );
        }
        for s in &states[..states.len() - 1] {
            assert!(table.iter().any(|t| t.from == *s), "{s:?} has no way out");
        }
        for t in table {
            assert!(states.contains(&t.from) && states.contains(&t.to), "{t:?}");
        }
    }

    #[test]
    fn every_state_is_in_its_table() {
        check_table(&CLIENT_STATES, &CLIENT_TRANSITIONS);
        check_table(&SERVER_STATES, &SERVER_TRANSITIONS);
        // The lists hold each variant once: an exhaustive match names them all.
        for s in CLIENT_STATES {
            let i = match s {
                ClientState::Start => 0,
                ClientState::WaitSh => 1,
                ClientState::WaitEe => 2,
                ClientState::WaitCertCr => 3,
                ClientState::WaitCert => 4,
                ClientState::WaitCv => 5,
                ClientState::WaitFinished => 6,
                ClientState::Connected => 7,
            };
            assert_eq!(CLIENT_STATES[i], s);
        }
        for s in SERVER_STATES {
            let i = match s {
                ServerState::Start => 0,
                ServerState::RecvdCh => 1,
                ServerState::Negotiated => 2,
                ServerState::WaitFlight2 => 3,
                ServerState::WaitCert => 4,
                ServerState::WaitCv => 5,
                ServerState::WaitFinished => 6,
                ServerState::Connected => 7,
            };
            assert_eq!(SERVER_STATES[i], s);
        }
    }

    #[test]
    fn names_are_the_rfc_spelling_and_pad() {
        assert_eq!(ClientState::WaitCertCr.to_string(), "WAIT_CERT_CR");
        assert_eq!(ServerState::RecvdCh.to_string(), "RECVD_CH");
        assert_eq!(StateName::Closed.to_string(), "CLOSED");
        assert_eq!(format!("{:<8}|", ClientState::WaitSh), "WAIT_SH |");
        assert!(is_listed(
            ServerState::Negotiated.into(),
            ServerState::WaitFlight2.into()
        ));
        assert!(!is_listed(
            ClientState::Start.into(),
            ServerState::RecvdCh.into()
        ));
        assert!(to_dot("client", &CLIENT_TRANSITIONS).contains("\"WAIT_CV\" -> \"WAIT_FINISHED\""));
    }
}
