//! `keylab threshold keygen`: M-of-N key shares and the group key.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use threshold::keys::{self, KeyShare};

use crate::cmd::output::check_output;
use crate::failure::Failure;

/// `keylab threshold keygen`
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// M: how many signers sign together.
    #[arg(long, value_name = "M")]
    pub threshold: u16,
    /// N: how many signers hold a share.
    #[arg(long, value_name = "N")]
    pub signers: u16,
    /// Directory for share-1.json ... share-N.json and group.pem (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A trusted dealer computes the whole key, splits it and forgets it: for tests only.
    #[arg(long)]
    pub trusted_dealer: bool,
    /// Seed the dealer's random numbers (reproducible test keys; needs --trusted-dealer).
    #[arg(long, value_name = "N", requires = "trusted_dealer")]
    pub seed: Option<u64>,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// Makes the shares, writes them and prints the group key.
pub fn run(args: &KeygenArgs, out: &mut dyn Write) -> Result<(), Failure> {
    keys::check_m_of_n(args.threshold, args.signers).map_err(|e| Failure::usage(e.to_string()))?;
    if args.out.exists() && !args.out.is_dir() {
        return Err(Failure::output(format!(
            "{} is not a directory",
            args.out.display()
        )));
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Failure::output(format!("creating {}: {e}", args.out.display())))?;
    let share_paths: Vec<PathBuf> = (1..=args.signers)
        .map(|i| args.out.join(format!("share-{i}.json")))
        .collect();
    let group_path = args.out.join("group.pem");
    for path in share_paths.iter().chain([&group_path]) {
        check_output(path, args.force)?;
    }
    let (m, n) = (args.threshold, args.signers);
    let shares = match (args.trusted_dealer, args.seed) {
        (true, Some(seed)) => keys::trusted_dealer(m, n, &mut threshold::rng::seeded(seed)),
        (true, None) => keys::trusted_dealer(m, n, &mut threshold::rng::os()),
        (false, _) => keys::dkg(m, n, &mut threshold::rng::os()),
    }
    .map_err(|e| Failure::check(e.to_string()))?;
    let group = shares
        .first()
        .ok_or_else(|| Failure::check("no shares were made"))?
        .group_key()
        .map_err(|e| Failure::check(e.to_string()))?;
    for (share, path) in shares.iter().zip(&share_paths) {
        write_share(share, path, args.force)?;
    }
    pki::files::write_file(&group_path, group.to_pem().as_bytes(), args.force, false)
        .map_err(|e| Failure::output(format!("{}: {e}", group_path.display())))?;
    let how = if args.trusted_dealer {
        "by a trusted dealer (tests only)"
    } else {
        "by distributed key generation"
    };
    crate::status!(
        "{m}-of-{n} FROST(Ed25519, SHA-512) key shares made {how}\nwrote {} (group key, \
         sha256:{})",
        group_path.display(),
        group.fingerprint()
    );
    out.write_all(group.to_pem().as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::output(e.to_string()))
}

fn write_share(share: &KeyShare, path: &Path, force: bool) -> Result<(), Failure> {
    let text = share.to_json().map_err(|e| Failure::check(e.to_string()))?;
    pki::files::write_file(path, text.as_bytes(), force, true)
        .map_err(|e| Failure::output(format!("{}: {e}", path.display())))?;
    crate::status!(
        "wrote {} (participant {}, mode 0600)",
        path.display(),
        share.participant()
    );
    Ok(())
}
