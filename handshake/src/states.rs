//! The state machines of RFC 8446 Appendix A as data, for diagrams and for checking that
//! the code only ever takes the transitions listed here.
//!
//! The state enums in `client` and `server` carry the same names ([`StateName`]); each
//! transition they take is reported through the trace hook and must appear in
//! [`CLIENT_TRANSITIONS`] or [`SERVER_TRANSITIONS`] (the tests check this).

/// A state's name as RFC 8446 Appendix A writes it.
pub type StateName = &'static str;

/// One arrow of a state diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: StateName,
    /// What causes it: a message received ("recv ...") or sent ("send ...").
    pub on: &'static str,
    /// State after.
    pub to: StateName,
    /// The path this arrow belongs to, when it is specific to one.
    pub path: Option<&'static str>,
}

const fn t(
    from: StateName,
    on: &'static str,
    to: StateName,
    path: Option<&'static str>,
) -> Transition {
    Transition { from, on, to, path }
}

const EPH: Option<&str> = Some("ephemeral-dh");
const CERT: Option<&str> = Some("certificate");
const PSK: Option<&str> = Some("psk");

/// Client states, RFC 8446 Appendix A.1.
pub const CLIENT_STATES: [StateName; 8] = [
    "START",
    "WAIT_SH",
    "WAIT_EE",
    "WAIT_CERT_CR",
    "WAIT_CERT",
    "WAIT_CV",
    "WAIT_FINISHED",
    "CONNECTED",
];

/// Server states, RFC 8446 Appendix A.2.
pub const SERVER_STATES: [StateName; 8] = [
    "START",
    "RECVD_CH",
    "NEGOTIATED",
    "WAIT_FLIGHT2",
    "WAIT_CERT",
    "WAIT_CV",
    "WAIT_FINISHED",
    "CONNECTED",
];

/// Client transitions (Appendix A.1, without early data).
pub const CLIENT_TRANSITIONS: [Transition; 10] = [
    t("START", "send ClientHello", "WAIT_SH", None),
    t(
        "WAIT_SH",
        "recv HelloRetryRequest / send ClientHello",
        "WAIT_SH",
        None,
    ),
    t("WAIT_SH", "recv ServerHello", "WAIT_EE", None),
    t("WAIT_EE", "recv EncryptedExtensions", "WAIT_CERT_CR", None),
    t(
        "WAIT_EE",
        "recv EncryptedExtensions (using PSK)",
        "WAIT_FINISHED",
        PSK,
    ),
    t("WAIT_CERT_CR", "recv CertificateRequest", "WAIT_CERT", None),
    t(
        "WAIT_CERT_CR",
        "recv Certificate (no client certificate asked for)",
        "WAIT_CV",
        EPH,
    ),
    t("WAIT_CERT", "recv Certificate", "WAIT_CV", None),
    t("WAIT_CV", "recv CertificateVerify", "WAIT_FINISHED", None),
    t(
        "WAIT_FINISHED",
        "recv Finished / send [Certificate [+ CertificateVerify]] Finished",
        "CONNECTED",
        None,
    ),
];

/// Server transitions (Appendix A.2, without early data).
pub const SERVER_TRANSITIONS: [Transition; 11] = [
    t("START", "recv ClientHello", "RECVD_CH", None),
    t("RECVD_CH", "send HelloRetryRequest", "START", None),
    t("RECVD_CH", "select parameters", "NEGOTIATED", None),
    t(
        "NEGOTIATED",
        "send ServerHello, EncryptedExtensions, [CertificateRequest], Certificate, CertificateVerify, Finished",
        "WAIT_FLIGHT2",
        None,
    ),
    t(
        "NEGOTIATED",
        "send ServerHello (pre_shared_key), EncryptedExtensions, Finished",
        "WAIT_FLIGHT2",
        PSK,
    ),
    t(
        "WAIT_FLIGHT2",
        "no CertificateRequest sent",
        "WAIT_FINISHED",
        None,
    ),
    t("WAIT_FLIGHT2", "CertificateRequest sent", "WAIT_CERT", None),
    t("WAIT_CERT", "recv empty Certificate", "WAIT_FINISHED", EPH),
    t("WAIT_CERT", "recv Certificate", "WAIT_CV", CERT),
    t("WAIT_CV", "recv CertificateVerify", "WAIT_FINISHED", CERT),
    t("WAIT_FINISHED", "recv Finished", "CONNECTED", None),
];

/// Whether `from → to` is an arrow of the given table.
pub fn is_listed(table: &[Transition], from: StateName, to: StateName) -> bool {
    table.iter().any(|t| t.from == from && t.to == to)
}

/// A Graphviz `dot` rendering of a table.
pub fn to_dot(name: &str, table: &[Transition]) -> String {
    let mut out = format!("digraph {name} {{\n  rankdir=TB;\n  node [shape=box];\n");
    for t in table {
        let style = match t.path {
            Some("certificate") => ", color=blue",
            Some("psk") => ", color=darkorange",
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

    #[test]
    fn every_transition_names_known_states() {
        for (states, table) in [
            (&CLIENT_STATES[..], &CLIENT_TRANSITIONS[..]),
            (&SERVER_STATES[..], &SERVER_TRANSITIONS[..]),
        ] {
            for t in table {
                assert!(states.contains(&t.from), "{t:?}");
                assert!(states.contains(&t.to), "{t:?}");
            }
            // Every state but the last is left by some arrow.
            for s in &states[..states.len() - 1] {
                assert!(table.iter().any(|t| t.from == *s), "{s} has no way out");
            }
        }
        assert!(to_dot("client", &CLIENT_TRANSITIONS).contains("\"WAIT_CV\" -> \"WAIT_FINISHED\""));
    }
}
