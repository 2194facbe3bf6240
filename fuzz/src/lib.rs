//! What the fuzz targets share: the configurations and trust anchors built once per
//! process from the `fixtures` crate, in the same order as the replay tests build them
//! (`handshake/tests/fuzz_seeds.rs`, `pki/tests/fuzz_seeds.rs`), so that the committed
//! seeds reach the same states here as there.
#![forbid(unsafe_code)]

use std::sync::LazyLock;

use handshake::fuzzing::{Credentials, Setup};
use pki::fuzzing::Trust;

fn credentials(h: fixtures::Hierarchy) -> Credentials<'static> {
    Credentials {
        root: h.root,
        server_chain: h.server_chain,
        server_key: h.server_key,
        client_chain: h.client_chain,
        client_key: h.client_key,
    }
}

static SETUP: LazyLock<Setup> = LazyLock::new(|| {
    Setup::new(&[credentials(fixtures::ED25519), credentials(fixtures::RSA)])
        .expect("the fixtures' credentials build configurations")
});

static TRUST: LazyLock<Trust> = LazyLock::new(|| {
    Trust::from_pem(
        &[fixtures::ED25519.root, fixtures::RSA.root],
        &[fixtures::ED25519.intermediate, fixtures::RSA.intermediate],
    )
    .expect("the fixtures' certificates parse")
});

/// The client and server configurations: the Ed25519 hierarchy first, then RSA.
pub fn setup() -> &'static Setup {
    &SETUP
}

/// Both hierarchies' roots as anchors and their intermediates.
pub fn trust() -> &'static Trust {
    &TRUST
}
