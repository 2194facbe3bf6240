//! Heap held per established idle connection and the peak during one handshake, keylab
//! beside rustls, counted by the bench's global allocator.
//!
//! Method: configurations are built and one handshake is run before counting starts (so
//! one-time initialisation is not charged). Then, with counting on: one in-memory
//! handshake (both sides in this thread, transport buffers included) gives the peak; each
//! connection is then moved into a `Box`, so that the struct itself counts, and dropped,
//! client first: what each drop frees is what that side held. Configurations are shared
//! (`Arc`) and not counted.

use std::io::Write as _;

use crate::alloc;
use crate::cases::{Case, Established, Key, SideTimes};
use crate::ours::Keylab;
use crate::theirs::Rustls;

/// What one side of one library held.
#[derive(Clone, Copy, Debug)]
struct Usage {
    client: isize,
    server: isize,
    peak: isize,
    /// Allocations and reallocations during the handshake.
    allocations: isize,
    /// Still allocated after both drops (should be 0).
    leftover: isize,
}

impl Usage {
    fn per_conn(self) -> isize {
        (self.client + self.server) / 2
    }

    /// The table's columns: client, server, peak, allocations, each 8 wide.
    fn cells(self) -> String {
        [self.client, self.server, self.peak, self.allocations]
            .map(|v| format!("{v:>8}"))
            .join(" ")
    }

    /// The JSON fields of one implementation, `NAME_client_bytes` and so on.
    fn json_fields(self, name: &str) -> String {
        format!(
            "\"{name}_client_bytes\": {}, \"{name}_server_bytes\": {}, \"{name}_peak_handshake_bytes\": {}, \"{name}_allocations\": {}",
            self.client, self.server, self.peak, self.allocations
        )
    }
}

fn keylab(case: Case) -> Usage {
    let lib = Keylab::new(case);
    usage(|| lib.handshake(&mut SideTimes::default()))
}

fn rustls(case: Case) -> Usage {
    let lib = Rustls::new(case);
    usage(|| lib.handshake(&mut SideTimes::default()))
}

/// Runs one `handshake` uncounted, then counts one: its peak, its allocations, and what
/// dropping each side frees.
fn usage<C, S>(handshake: impl Fn() -> Established<C, S>) -> Usage {
    handshake();
    alloc::open();
    let done = handshake();
    let peak = alloc::peak() + (size_of_val(&done.client) + size_of_val(&done.server)) as isize;
    let allocations = alloc::count();
    let (client, server) = (Box::new(done.client), Box::new(done.server));
    let held = alloc::live();
    drop(client);
    let after_client = alloc::live();
    drop(server);
    let leftover = alloc::live();
    alloc::close();
    Usage {
        client: held - after_client,
        server: after_client - leftover,
        peak,
        allocations,
        leftover,
    }
}

/// Prints the memory table and, when `KEYLAB_BENCH_MEMORY_JSON` names a file, writes the
/// figures there as JSON. The summary figures are from the certificate path with Ed25519
/// (the heavier path); per connection means the mean of the client and the server side.
pub fn report() {
    println!(
        "heap per established idle connection (bytes); peak heap and allocations during one \
         in-memory handshake (both sides)"
    );
    let columns = ["client", "server", "peak", "allocs"]
        .map(|c| format!("{c:>8}"))
        .join(" ");
    println!("{:<22} {:>35}  {:>35}", "", "keylab", "rustls");
    println!("{:<13} {:<8} {columns}  {columns}", "path", "key");
    let mut cases = Vec::new();
    let mut summary = String::new();
    for case in Case::ALL {
        let (ours, theirs) = (keylab(case), rustls(case));
        println!(
            "{:<13} {:<8} {}  {}",
            case.path(),
            case.key(),
            ours.cells(),
            theirs.cells()
        );
        if ours.leftover != 0 || theirs.leftover != 0 {
            println!(
                "  (still allocated after both drops: keylab {}, rustls {})",
                ours.leftover, theirs.leftover
            );
        }
        cases.push(format!(
            "{{\"path\": \"{}\", \"key\": \"{}\", {}, {}}}",
            case.path(),
            case.key(),
            ours.json_fields("keylab"),
            theirs.json_fields("rustls")
        ));
        if case.mutual && case.key == Key::Ed25519 {
            summary = format!(
                "{{\"keylab_bytes_per_conn\": {}, \"rustls_bytes_per_conn\": {}, \"keylab_peak_handshake_bytes\": {}, \"rustls_peak_handshake_bytes\": {}}}",
                ours.per_conn(),
                theirs.per_conn(),
                ours.peak,
                theirs.peak
            );
        }
    }
    if let Some(path) = std::env::var_os("KEYLAB_BENCH_MEMORY_JSON") {
        let json = format!(
            "{{\"memory\": {summary}, \"cases\": [{}]}}\n",
            cases.join(", ")
        );
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(json.as_bytes()))
            .expect("write the memory figures");
    }
}
