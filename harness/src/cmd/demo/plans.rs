//! The demo's runs: what each client holds and offers, the path it must take, and the
//! check that it did.

use handshake::{Path, SupportedGroup};

use super::PathArg;
use crate::runner::Outcome;

/// What the client of a run holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Holds {
    /// Nothing but trust in the root; it keeps the tickets it is given.
    Nothing,
    /// Nothing but trust in the root, and no session cache (so it offers no ticket).
    NothingNoTickets,
    /// A certificate and its key.
    Certificate,
    /// The demo's external PSK.
    Psk,
    /// A ticket from an earlier run.
    Ticket,
}

/// One planned run: the path it should take, how to describe the client, what it holds.
pub(super) struct Plan {
    /// The `--path` name that asks for this run; the JSON run's `path`.
    pub name: &'static str,
    /// The path both sides must report.
    pub path: Path,
    /// Whether the server must answer the first ClientHello with a HelloRetryRequest.
    pub hello_retry: bool,
    pub client: &'static str,
    pub message: &'static [u8],
    pub holds: Holds,
    /// Offers psk_ke alone (the PSK without (EC)DHE), which the demo server allows.
    pub psk_ke: bool,
    /// The client's groups, most preferred first, when not the default: the client sends
    /// a key share for the first only.
    pub groups: Option<&'static [SupportedGroup]>,
}

/// The demo server prefers x25519 (the default order); this client guesses secp256r1,
/// so the server asks again with a HelloRetryRequest for x25519 (RFC 8446 §4.1.4).
const HRR_CLIENT_GROUPS: &[SupportedGroup] = &[SupportedGroup::Secp256r1, SupportedGroup::X25519];

const fn plan(
    name: &'static str,
    path: Path,
    client: &'static str,
    message: &'static [u8],
    holds: Holds,
) -> Plan {
    Plan {
        name,
        path,
        hello_retry: false,
        client,
        message,
        holds,
        psk_ke: false,
        groups: None,
    }
}

/// Every run the demo can make, in the order `--path all` makes them.
const PLANS: [Plan; 7] = [
    plan(
        "ephemeral-dh",
        Path::EphemeralDh,
        "client without a certificate; it keeps the ticket it is given",
        b"hello from an anonymous client",
        Holds::Nothing,
    ),
    plan(
        "certificate",
        Path::Certificate,
        "client CN=alice with a certificate",
        b"hello from alice",
        Holds::Certificate,
    ),
    plan(
        "psk+dhe",
        Path::PskDhe,
        "client holding the external PSK \"keylab-demo\"",
        b"hello from a PSK holder",
        Holds::Psk,
    ),
    plan(
        "resumption+dhe",
        Path::ResumptionDhe,
        "the client of run 1, resuming with its ticket",
        b"hello again, resumed",
        Holds::Ticket,
    ),
    Plan {
        psk_ke: true,
        ..plan(
            "psk",
            Path::Psk,
            "client holding the external PSK \"keylab-demo\", offering psk_ke only",
            b"hello from a PSK holder, no X25519",
            Holds::Psk,
        )
    },
    Plan {
        psk_ke: true,
        ..plan(
            "resumption",
            Path::Resumption,
            "the client of run 1, resuming with its ticket, offering psk_ke only",
            b"hello again, resumed without X25519",
            Holds::Ticket,
        )
    },
    Plan {
        hello_retry: true,
        groups: Some(HRR_CLIENT_GROUPS),
        ..plan(
            "hrr",
            Path::EphemeralDh,
            "client guessing secp256r1 while the server prefers x25519",
            b"hello after a retry",
            Holds::NothingNoTickets,
        )
    },
];

/// The runs `--path` asks for, by [`Plan::name`] (resumption needs the run that earns the
/// ticket first).
pub(super) fn plans_for(path: PathArg) -> Vec<&'static Plan> {
    let wanted: &[&str] = match path {
        PathArg::All => &[
            "ephemeral-dh",
            "certificate",
            "psk+dhe",
            "resumption+dhe",
            "psk",
            "hrr",
        ],
        PathArg::EphemeralDh => &["ephemeral-dh"],
        PathArg::Certificate => &["certificate"],
        PathArg::Psk => &["psk"],
        PathArg::PskDhe => &["psk+dhe"],
        PathArg::Resumption => &["ephemeral-dh", "resumption"],
        PathArg::ResumptionDhe => &["ephemeral-dh", "resumption+dhe"],
        PathArg::Hrr => &["hrr"],
        // Not TLS paths of their own: `demo::run` sends them to their demonstrations.
        PathArg::WeakPsk | PathArg::Pake => &[],
        // Not a loopback plan: the threshold demo runs on its own (`demo::threshold`).
        PathArg::Threshold => &[],
    };
    wanted
        .iter()
        .filter_map(|name| PLANS.iter().find(|p| p.name == *name))
        .collect()
}

/// A run is good when both sides completed on the planned path, with a HelloRetryRequest
/// exactly when planned, and the echo came back.
pub(super) fn check(plan: &Plan, o: &Outcome) -> Result<(), String> {
    let client = o
        .client
        .as_ref()
        .map_err(|e| format!("client failed: {e}"))?;
    let server = match &o.server {
        Some(s) => s
            .result
            .as_ref()
            .map_err(|e| format!("server failed: {e}"))?,
        None => return Err("the server did not report".into()),
    };
    for (side, s) in [("client", client), ("server", server)] {
        if s.path != plan.path {
            return Err(format!(
                "{side} took path {} instead of {}",
                s.path, plan.path
            ));
        }
        if s.hello_retry != plan.hello_retry {
            let what = if plan.hello_retry { "no" } else { "a" };
            return Err(format!("{side} reports {what} HelloRetryRequest"));
        }
    }
    // The summaries' word checked against the messages that actually went by.
    let retries = |messages: &[crate::observe::MessageRecord]| {
        messages
            .iter()
            .filter(|m| !m.from_client && m.name == "HelloRetryRequest")
            .count()
    };
    let wanted = usize::from(plan.hello_retry);
    let server_seen = o.server.as_ref().map(|s| retries(&s.observed.messages));
    if retries(&o.observed.messages) != wanted || server_seen != Some(wanted) {
        return Err(format!(
            "{wanted} HelloRetryRequest expected, the client saw {} and the server sent {}",
            retries(&o.observed.messages),
            server_seen.unwrap_or(0)
        ));
    }
    if o.reply != plan.message {
        return Err("the echo did not match what was sent".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    /// `--path` takes exactly the names the JSON `path` fields hold ([`Path::name`]), and
    /// each asks for its own run last.
    #[test]
    fn path_names_are_the_json_names() {
        for path in Path::ALL {
            let arg = PathArg::from_str(path.name(), false)
                .unwrap_or_else(|e| panic!("--path {}: {e}", path.name()));
            let plans = plans_for(arg);
            let last = plans.last().expect("a run");
            assert_eq!((last.name, last.path), (path.name(), path));
            assert!(!last.hello_retry);
        }
        let hrr = plans_for(PathArg::Hrr);
        assert_eq!(hrr.len(), 1);
        assert!(hrr[0].hello_retry && hrr[0].name == "hrr");
        let names: Vec<&str> = PathArg::value_variants()
            .iter()
            .filter_map(|v| v.to_possible_value())
            .map(|v| v.get_name().to_owned())
            .map(|n| match n.as_str() {
                "threshold" => "threshold",
                _ => PLANS.iter().find(|p| p.name == n).map_or("all", |p| p.name),
            })
            .collect();
        assert_eq!(
            names,
            [
                "ephemeral-dh",
                "certificate",
                "psk",
                "psk+dhe",
                "resumption",
                "resumption+dhe",
                "hrr",
                "threshold",
                "all",
                "all",
                "all"
            ]
        );
        let all: Vec<&str> = plans_for(PathArg::All).iter().map(|p| p.name).collect();
        assert_eq!(
            all,
            [
                "ephemeral-dh",
                "certificate",
                "psk+dhe",
                "resumption+dhe",
                "psk",
                "hrr"
            ]
        );
    }
}
