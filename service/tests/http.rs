//! The bounded server and the client core against each other over loopback.

use std::net::TcpListener;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use service::client::MAX_REASON_CHARS;
use service::{BackgroundServer, ClientError, HttpClient, Limits};

const LIMITS: Limits = Limits::with_grace(Duration::from_secs(1));

fn start() -> BackgroundServer {
    let router = Router::new()
        .route("/hello", get(|| async { "hello\n" }))
        .route("/big", get(|| async { "x".repeat(10_000) }))
        .route(
            "/refused",
            get(|| async { (StatusCode::CONFLICT, "r".repeat(1000)) }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    BackgroundServer::start(listener, router, LIMITS, "test").expect("start")
}

fn get_from(client: &HttpClient, path: &str) -> Result<service::Answer, ClientError> {
    let url = format!("{}{path}", client.base());
    client.answer(&url, client.agent().get(&url).call())
}

#[test]
fn a_2xx_answer_is_its_status_and_body() {
    let server = start();
    let client = HttpClient::new(&format!("{}/", server.url()), Duration::from_secs(5), 1024);
    assert_eq!(client.base(), server.url(), "the trailing / is dropped");
    let answer = get_from(&client, "/hello").expect("answer");
    assert_eq!((answer.status, answer.body.as_str()), (200, "hello\n"));
}

#[test]
fn an_error_status_keeps_the_start_of_the_reason() {
    let server = start();
    let client = HttpClient::new(&server.url(), Duration::from_secs(5), 4096);
    let err = get_from(&client, "/refused").expect_err("409");
    assert_eq!(err.status(), Some(409));
    match err {
        ClientError::Status { message, .. } => assert_eq!(message, "r".repeat(MAX_REASON_CHARS)),
        other => panic!("expected a refusal, got {other}"),
    }
    let missing = get_from(&client, "/nowhere").expect_err("404");
    assert_eq!(missing.status(), Some(404), "{missing}");
}

#[test]
fn answers_are_read_up_to_the_bound() {
    let server = start();
    let client = HttpClient::new(&server.url(), Duration::from_secs(5), 100);
    let answer = get_from(&client, "/big").expect("answer");
    assert_eq!(answer.body.len(), 100);
}

#[test]
fn a_stopped_server_is_unreachable() {
    let server = start();
    let client = HttpClient::new(&server.url(), Duration::from_secs(5), 1024);
    server.stop();
    let err = get_from(&client, "/hello").expect_err("stopped");
    assert!(
        matches!(&err, ClientError::Unreachable { url, .. } if url.ends_with("/hello")),
        "{err}"
    );
    assert_eq!(err.status(), None);
}
