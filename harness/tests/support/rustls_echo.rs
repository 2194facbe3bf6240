//! A rustls server that takes one connection on a loopback port and echoes one line, for
//! the tests that run keylab's client against rustls.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Starts a server with `config` on a loopback port; its thread accepts one connection,
/// echoes one line, and returns that line with what `inspect` reads from the connection
/// before it sends close_notify. Reads give up after 10 seconds.
pub fn serve_one_line<T: Send + 'static>(
    config: rustls::ServerConfig,
    inspect: impl FnOnce(&rustls::ServerConnection) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<(String, T)>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = Arc::new(config);
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("accept");
        tcp.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let conn = rustls::ServerConnection::new(config).expect("conn");
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut line = String::new();
        BufReader::new(&mut tls).read_line(&mut line).expect("read");
        tls.write_all(line.as_bytes()).expect("echo");
        let seen = inspect(&tls.conn);
        tls.conn.send_close_notify();
        let _ = tls.flush();
        (line, seen)
    });
    (addr, server)
}
