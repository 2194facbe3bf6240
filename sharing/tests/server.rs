//! Share servers in-process on 127.0.0.1:0: the HTTP API, its refusals, and recovery with
//! servers stopped.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sharing::client::{self, Client, ClientError, RecoverError};
use sharing::server::ShareServer;
use sharing::split;
use sharing::store::Access;
use zeroize::Zeroizing;

const SECRET: &[u8] = b"a 32-byte secret for the servers";

fn start(dir: &std::path::Path, token: Option<&str>) -> ShareServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    ShareServer::start(listener, dir, token.map(|t| Zeroizing::new(t.to_owned()))).expect("start")
}

fn client(server: &ShareServer, token: Option<&str>) -> Client {
    Client::new(
        &server.url(),
        token.map(|t| Zeroizing::new(t.to_owned())),
        Duration::from_secs(5),
    )
}

/// One raw HTTP/1.1 request; returns the status code and body.
fn raw_request(server: &ShareServer, request: &[u8]) -> (u16, String) {
    let mut tcp = TcpStream::connect(server.addr()).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(request).expect("write");
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

/// Readable by anyone the server lets in, as shares stored over plain HTTP are.
fn open() -> Access {
    Access::default()
}

fn status_of(result: Result<impl Sized, ClientError>) -> Option<u16> {
    match result {
        Err(ClientError::Status { status, .. }) => Some(status),
        _ => None,
    }
}

#[test]
fn api_stores_lists_fetches_and_refuses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), Some("s3cret"));
    let good = client(&server, Some("s3cret"));
    let shares = split(SECRET, 2, 3, &mut ChaCha20Rng::seed_from_u64(1)).expect("split");
    let id = shares[0].split_id();

    assert_eq!(good.list(id).expect("list"), Vec::<u8>::new());
    good.put(&shares[0]).expect("put");
    good.put(&shares[0]).expect("an identical retry is fine");
    good.put(&shares[1]).expect("put");
    let mut xs = vec![shares[0].x(), shares[1].x()];
    xs.sort_unstable();
    assert_eq!(good.list(id).expect("list"), xs);
    assert_eq!(good.get(id, shares[1].x()).expect("get"), shares[1]);
    assert_eq!(status_of(good.get(id, shares[2].x())), Some(404));

    // A different share under an existing name: 409, and the stored one is unchanged.
    let mut altered = shares[0].clone();
    altered.y_mut()[0] ^= 1;
    assert_eq!(status_of(good.put(&altered)), Some(409));
    assert_eq!(good.get(id, shares[0].x()).expect("get"), shares[0]);

    // Tokens.
    assert_eq!(status_of(client(&server, None).list(id)), Some(401));
    assert_eq!(
        status_of(client(&server, Some("wrong")).get(id, shares[0].x())),
        Some(401)
    );
    assert_eq!(
        status_of(client(&server, Some("s3cre")).put(&shares[2])),
        Some(401)
    );

    // Malformed input, with a reason.
    let auth = "Authorization: Bearer s3cret\r\n";
    let put = |path: &str, body: &str| {
        raw_request(
            &server,
            format!(
                "PUT {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    let (status, body) = put(&format!("/shares/{id}/{}", shares[2].x()), "not a share");
    assert_eq!(status, 400);
    assert!(body.contains("malformed share"), "{body}");
    let (status, body) = put("/shares/XYZ/3", "");
    assert_eq!((status, body.contains("split id")), (400, true), "{body}");
    let (status, body) = put(&format!("/shares/{id}/254"), "");
    assert_eq!((status, body.contains("1..=253")), (400, true), "{body}");
    let text = shares[2].to_text();
    let (status, body) = put(&format!("/shares/{id}/{}", shares[2].x() % 253 + 1), &text);
    assert_eq!(
        (status, body.contains("not the URL's")),
        (400, true),
        "{body}"
    );
    let (status, _) = put(
        &format!("/shares/{id}/{}", shares[2].x()),
        &"A".repeat(200_000),
    );
    assert_eq!(status, 413);
    // The token is checked before the body is read; the scheme name in any case.
    let (status, _) = raw_request(
        &server,
        format!(
            "PUT /shares/{id}/{} HTTP/1.1\r\nHost: x\r\nContent-Length: 200000\r\nConnection: close\r\n\r\n",
            shares[2].x()
        )
        .as_bytes(),
    );
    assert_eq!(status, 401);
    let (status, body) = raw_request(
        &server,
        format!("GET /shares/{id} HTTP/1.1\r\nHost: x\r\nauthorization: bEARER s3cret\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = raw_request(
        &server,
        format!("DELETE /shares/{id}/1 HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 405);
    let (status, _) = raw_request(
        &server,
        b"GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 404);
    server.stop();

    // The shares survive a restart on the same directory.
    let again = start(dir.path(), None);
    assert_eq!(
        client(&again, None).get(id, shares[1].x()).expect("get"),
        shares[1]
    );
}

#[test]
fn recover_with_any_three_of_five_and_say_why_not_with_two() {
    let dirs: Vec<_> = (0..5)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let mut servers: Vec<Option<ShareServer>> =
        dirs.iter().map(|d| Some(start(d.path(), None))).collect();
    let clients: Vec<Client> = servers.iter().flatten().map(|s| client(s, None)).collect();
    let shares = split(SECRET, 3, 5, &mut ChaCha20Rng::seed_from_u64(2)).expect("split");
    let id = shares[0].split_id();
    client::store(&clients, &shares).expect("store");

    for stop in [1, 3] {
        if let Some(s) = servers[stop].take() {
            s.stop();
        }
    }
    let secret = client::recover(&clients, id).expect("3 of 5 recover");
    assert_eq!(secret.as_slice(), SECRET);

    if let Some(s) = servers[4].take() {
        s.stop();
    }
    match client::recover(&clients, id) {
        Err(e @ RecoverError::NotEnough { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&format!(
                    "reached 2 of 5 share servers, holding 2 share(s) of split {id}; 3 needed"
                )),
                "{text}"
            );
            assert_eq!(text.matches("unreachable").count(), 3, "{text}");
        }
        other => panic!("expected NotEnough, got {other:?}"),
    }

    // A corrupted share on a server is caught by the digest, not returned as a secret.
    let one = ShareServer::start(
        TcpListener::bind("127.0.0.1:0").expect("bind"),
        dirs[1].path(),
        None,
    )
    .expect("restart");
    std::fs::write(
        dirs[1]
            .path()
            .join(id.to_string())
            .join(format!("{}.share", shares[1].x())),
        {
            let mut bad = shares[1].clone();
            bad.y_mut()[3] ^= 4;
            format!("{}\n", bad.to_text().as_str())
        },
    )
    .expect("write");
    let mixed = [
        client(&one, None),
        client(servers[0].as_ref().expect("up"), None),
        client(servers[2].as_ref().expect("up"), None),
    ];
    match client::recover(&mixed, id) {
        Err(RecoverError::Combine { source, .. }) => {
            assert_eq!(source, sharing::Error::DigestMismatch);
        }
        other => panic!("expected a digest error, got {other:?}"),
    }
}

#[test]
fn a_hostile_server_among_four_does_not_stop_a_two_of_four_recovery() {
    let dirs: Vec<_> = (0..4)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let shares = split(SECRET, 2, 4, &mut ChaCha20Rng::seed_from_u64(3)).expect("split");
    let id = shares[0].split_id();
    let good_xs: Vec<u8> = shares.iter().map(sharing::Share::x).collect();

    // Server 0 is hostile: its own share corrupted, a forged copy of server 1's x, and
    // many forged shares of other x — all well-formed, all wrong.
    let hostile = sharing::store::Store::open(dirs[0].path()).expect("open");
    let forge = |x: u8, seed: u8| {
        let y: Vec<u8> = (0..SECRET.len())
            .map(|i| seed.wrapping_mul(31).wrapping_add(i as u8))
            .collect();
        sharing::Share::from_parts(id, 2, x, y)
    };
    let mut bad = shares[0].clone();
    bad.y_mut()[5] ^= 0x40;
    hostile.put(&bad, &open()).expect("put");
    hostile.put(&forge(shares[1].x(), 1), &open()).expect("put");
    let others = (1..=sharing::MAX_X).filter(|x| !good_xs.contains(x));
    for (seed, x) in (2..).zip(others.take(30)) {
        hostile.put(&forge(x, seed), &open()).expect("put");
    }
    for (dir, share) in dirs.iter().zip(&shares).skip(1) {
        sharing::store::Store::open(dir.path())
            .expect("open")
            .put(share, &open())
            .expect("put");
    }
    let servers: Vec<ShareServer> = dirs.iter().map(|d| start(d.path(), None)).collect();
    let clients: Vec<Client> = servers.iter().map(|s| client(s, None)).collect();

    let secret = client::recover(&clients, id).expect("two good shares of three are enough");
    assert_eq!(secret.as_slice(), SECRET);

    // With only the hostile server and one good one, it fails and says what it tried.
    match client::recover(&clients[..2], id) {
        Err(e @ RecoverError::Combine { .. }) => {
            let text = e.to_string();
            assert!(text.contains("do not combine: tried"), "{text}");
        }
        other => panic!("expected a combine error, got {other:?}"),
    }
}

#[test]
fn a_stalled_client_neither_blocks_others_nor_the_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), None);
    let id: sharing::SplitId = "0707070707070707".parse().expect("id");

    // Half a request line, then silence.
    let mut stalled = TcpStream::connect(server.addr()).expect("connect");
    stalled.write_all(b"GET /shares/07070707").expect("write");
    std::thread::sleep(Duration::from_millis(100));

    // Another client is served meanwhile.
    assert_eq!(
        client(&server, None).list(id).expect("list"),
        Vec::<u8>::new()
    );

    let started = std::time::Instant::now();
    server.stop();
    let took = started.elapsed();
    assert!(
        took < sharing::server::SHUTDOWN_GRACE + Duration::from_secs(3),
        "stop took {took:?}"
    );
    // The stalled connection was closed.
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rest = Vec::new();
    let _ = stalled.read_to_end(&mut rest);
}
