//! The loopback runner from an integration test's point of view: start a keylab server on
//! 127.0.0.1:0 with client authentication required, run three clients, and look at what
//! each side saw.
//!
//! `cargo run -p harness --example loopback`

use std::sync::Arc;

use handshake::ClientAuth;
use harness::runner::{self, ClientSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = runner::demo_server_config(ClientAuth::Required)?;
    let clients = vec![
        ClientSpec::new(runner::demo_client_config(true)?, b"first".to_vec()),
        ClientSpec::new(runner::demo_client_config(true)?, b"second".to_vec()),
        // No certificate: the server refuses it with certificate_required.
        ClientSpec::new(runner::demo_client_config(false)?, b"third".to_vec()),
    ];
    for (i, outcome) in runner::run("127.0.0.1:0", Arc::new(server), clients, None)?
        .iter()
        .enumerate()
    {
        let server = outcome.server.as_ref().map(|s| s.result.clone());
        match (&outcome.client, server) {
            (Ok(c), Some(Ok(s))) => println!(
                "client {i}: {} | server: {} | {} messages, handshake {:.1} ms",
                c.one_line(),
                s.reason,
                outcome.observed.messages.len(),
                outcome.handshake_time.as_secs_f64() * 1e3
            ),
            (client, server) => println!("client {i}: client {client:?}, server {server:?}"),
        }
    }
    Ok(())
}
