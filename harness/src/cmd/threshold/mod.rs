//! `keylab threshold keygen | dkg | signer`: FROST(Ed25519, SHA-512) threshold keys (RFC 9591)
//! with the [`threshold`] crate. `keylab server --threshold-signers` is their coordinator.

mod dkg;
mod keygen;
mod signer;

use std::io::Write;

use clap::Subcommand;

pub use self::dkg::DkgCommand;
pub use self::keygen::KeygenArgs;
pub use self::signer::SignerArgs;
use crate::failure::{EXIT_CODES, Failure};

/// `keylab threshold ...`
#[derive(Debug, Subcommand)]
pub enum ThresholdCommand {
    /// Make M-of-N FROST key shares by distributed key generation; print the group's
    /// public key (PEM).
    ///
    /// Runs the DKG's rounds for N participants in this process, each with its own state,
    /// and writes participant I's key share to DIR/share-I.json (mode 0600) and the group
    /// key to DIR/group.pem. The whole private key is never computed; but this process saw
    /// every share: for shares no single machine ever held, run `keylab threshold dkg` on
    /// the signers' own machines. --trusted-dealer computes the key first and splits it
    /// (tests only).
    #[command(after_help = EXIT_CODES)]
    Keygen(KeygenArgs),
    /// Distributed key generation by hand: each participant runs round1, round2 and
    /// finish on its own machine, and the package files travel between them.
    #[command(subcommand)]
    Dkg(DkgCommand),
    /// Serve one key share's FROST signing rounds over HTTPS (or plain HTTP).
    ///
    /// Round 1 hands out commitments and keeps their nonces in memory, once, for 30 s;
    /// round 2 signs TLS 1.3 CertificateVerify content only. Nonces are never stored on
    /// disk: after a restart none are left to reuse.
    #[command(after_help = EXIT_CODES)]
    Signer(SignerArgs),
}

/// Runs a `keylab threshold` command.
pub fn run(command: &ThresholdCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        ThresholdCommand::Keygen(args) => keygen::run(args, out),
        ThresholdCommand::Dkg(command) => dkg::run(command, out),
        ThresholdCommand::Signer(args) => signer::run(args, out),
    }
}
