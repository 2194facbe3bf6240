//! `keylab psk from-code | crack | new | import`: why a PSK made from a short code is
//! weak (make one the naive way, then guess it back from a recording), and the courier's
//! way to a strong one (draw 32 random bytes, carry them as text or a QR code).

mod courier;
mod crack;

use std::io::Write;

use clap::{Args, Subcommand};

pub use self::courier::{ImportArgs, NewArgs};
pub use self::crack::CrackArgs;
use crate::failure::{EXIT_CODES, Failure};

/// `keylab psk ...`
#[derive(Debug, Subcommand)]
pub enum PskCommand {
    /// Print the PSK file line a user would make from a short code the naive way:
    /// IDENTITY:HEX(SHA-256(CODE)).
    ///
    /// The key looks like any 32-byte key, but there are only as many such keys as codes:
    /// one recorded ClientHello lets anyone test them all offline (`keylab psk crack`).
    /// Use `keylab pair` or `keylab psk new` instead.
    ///
    /// Example:
    ///   $ keylab psk from-code 493817 --identity lab
    ///   lab:<64 hex digits>
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    FromCode(FromCodeArgs),
    /// Find the code behind a PSK from one recorded ClientHello, by testing candidate codes
    /// against its binder offline.
    ///
    /// The capture is a pcap (classic libpcap format; Ethernet, loopback, raw IP or Linux
    /// cooked capture; IPv4 or IPv6; TCP reassembled) or the client's bytes recorded by
    /// `keylab mitm --record c2s:FILE`. Each candidate is made into a PSK as `keylab psk
    /// from-code` does (SHA-256 of the code), and its binder (RFC 8446 §4.2.11.2) computed
    /// and compared. Works on psk and psk+dhe alike: the binder is computed before any key
    /// share is used.
    ///
    /// Prints the code, the guesses made and the time; exit status 1 when no candidate
    /// matched within the budget. With --json, one object on stdout:
    ///   {"identity": ID, "code": CODE, "position": N, "guesses": N, "candidates": N,
    ///    "seconds": S, "guesses_per_second": R, "threads": T}
    ///
    /// Examples:
    ///   $ keylab psk crack --capture client.bin --identity lab --digits 6
    ///   $ keylab psk crack --capture lo.pcap --identity lab --wordlist words.txt --json
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Crack(CrackArgs),
    /// Draw a random 32-byte PSK and write it as a PSK file line (mode 0600); with --qr also
    /// show it as a QR code on the terminal, for a phone to carry to the other side.
    ///
    /// Example:
    ///   $ keylab psk new --identity lab --out lab.psk --qr
    ///   (a QR code of "lab:<64 hex digits>" on stdout; `keylab psk import` reads it back)
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    New(NewArgs),
    /// Read IDENTITY:HEXKEY text (a QR code's payload, typed or pasted) and write it as a
    /// PSK file (mode 0600) after checking it.
    ///
    /// Example:
    ///   $ echo "lab:<64 hex digits>" | keylab psk import --out lab.psk
    #[command(after_help = EXIT_CODES, verbatim_doc_comment)]
    Import(ImportArgs),
}

/// `keylab psk from-code`
#[derive(Debug, Args)]
pub struct FromCodeArgs {
    /// The short code (digits or a passphrase).
    pub code: String,
    /// The PSK identity to write before the key.
    #[arg(long, value_name = "ID")]
    pub identity: String,
}

/// Runs a `keylab psk` command.
pub fn run(command: &PskCommand, out: &mut dyn Write) -> Result<(), Failure> {
    match command {
        PskCommand::FromCode(args) => from_code(args, out),
        PskCommand::Crack(args) => crack::run(args, out),
        PskCommand::New(args) => courier::new(args, out),
        PskCommand::Import(args) => courier::import(args, out),
    }
}

fn from_code(args: &FromCodeArgs, out: &mut dyn Write) -> Result<(), Failure> {
    if args.code.is_empty() {
        return Err(Failure::input("the code is empty"));
    }
    let psk = handshake::ExternalPsk::new(&args.identity, &crate::crack::naive_psk(&args.code))
        .map_err(|e| Failure::input(e.to_string()))?;
    writeln!(out, "{}:{}", psk.identity(), psk.hex().as_str())
        .map_err(|e| Failure::output(e.to_string()))
}
