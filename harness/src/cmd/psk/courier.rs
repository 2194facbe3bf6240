//! `keylab psk new` and `keylab psk import`: a strong PSK drawn at random and carried to
//! the other side as text or as a QR code, and read back from that text.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use handshake::ExternalPsk;
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use rand_core::Rng;
use zeroize::Zeroizing;

use crate::cmd::load::MAX_SECRET_FILE;
use crate::cmd::output::{check_output, is_stdio, read_input, write_secret};
use crate::failure::Failure;

/// `keylab psk new`
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The PSK identity (1 to 255 printable ASCII characters, no `:`).
    #[arg(long, value_name = "ID")]
    pub identity: String,
    /// The PSK file to write (mode 0600); - for stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also print the IDENTITY:HEXKEY line as a QR code (on stdout, or stderr when --out is
    /// -). Whoever sees it has the key.
    #[arg(long)]
    pub qr: bool,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

/// `keylab psk import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Where the IDENTITY:HEXKEY text is (- for stdin).
    #[arg(long = "in", value_name = "FILE", default_value = "-")]
    pub input: PathBuf,
    /// The PSK file to write (mode 0600); - for stdout.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Overwrite --out if it exists.
    #[arg(long)]
    pub force: bool,
}

/// Draws the key, writes it, and shows the QR code when asked.
pub(super) fn new(args: &NewArgs, out: &mut dyn Write) -> Result<(), Failure> {
    check_output(&args.out, args.force)?;
    let mut key = Zeroizing::new([0u8; 32]);
    crate::seed::os_rng().fill_bytes(&mut key[..]);
    let psk =
        ExternalPsk::new(&args.identity, &key[..]).map_err(|e| Failure::input(e.to_string()))?;
    let line = Zeroizing::new(format!("{}:{}", psk.identity(), psk.hex().as_str()));
    write_secret(
        &args.out,
        format!("{}\n", line.as_str()).as_bytes(),
        args.force,
        out,
    )?;
    if !is_stdio(&args.out) {
        crate::status!(
            "wrote {} (a 32-byte key for {:?})",
            args.out.display(),
            psk.identity()
        );
    }
    if args.qr {
        let picture = qr_text(&line)?;
        if is_stdio(&args.out) {
            crate::status!("{picture}");
        } else {
            out.write_all(picture.as_bytes())
                .map_err(|e| Failure::output(e.to_string()))?;
        }
    }
    Ok(())
}

/// `text` as a QR code drawn with Unicode half blocks, two modules per character cell,
/// with the quiet zone around it.
pub fn qr_text(text: &str) -> Result<String, Failure> {
    let code = QrCode::new(text.as_bytes())
        .map_err(|e| Failure::input(format!("cannot make a QR code: {e}")))?;
    let mut picture = code.render::<Dense1x2>().quiet_zone(true).build();
    picture.push('\n');
    Ok(picture)
}

/// Reads IDENTITY:HEXKEY, checks it as a PSK file line, writes it.
pub(super) fn import(args: &ImportArgs, out: &mut dyn Write) -> Result<(), Failure> {
    check_output(&args.out, args.force)?;
    let bytes = Zeroizing::new(read_input(&args.input, MAX_SECRET_FILE)?);
    let name = crate::cmd::load::input_name(&args.input);
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Failure::input(format!("{name}: not text")))?;
    let keys =
        handshake::psk::parse_psk_file(text).map_err(|e| Failure::input(format!("{name}: {e}")))?;
    let mut file = Zeroizing::new(String::new());
    for psk in &keys {
        file.push_str(&format!("{}:{}\n", psk.identity(), psk.hex().as_str()));
    }
    write_secret(&args.out, file.as_bytes(), args.force, out)?;
    if !is_stdio(&args.out) {
        let names: Vec<&str> = keys.iter().map(ExternalPsk::identity).collect();
        crate::status!("wrote {} ({})", args.out.display(), names.join(", "));
    }
    Ok(())
}
