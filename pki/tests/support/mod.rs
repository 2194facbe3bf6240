//! Shared helpers for the OpenSSL cross-checks: running the `openssl` command line and
//! building certificate hierarchies with it.
#![allow(dead_code, reason = "each test binary uses a different part")]

use std::fs;
use std::path::Path;
use std::process::Command;

use pki::{Certificate, PathRequest, Purpose, ValidationError};
use time::OffsetDateTime;

pub fn have_openssl() -> bool {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is required under CI=true"
        );
        eprintln!(
            "skipping: no `openssl` binary on PATH (install it, e.g. apt-get install openssl)"
        );
    }
    found
}

/// A scratch directory for an OpenSSL cross-check, or `None` (the test is skipped) when
/// there is no `openssl` binary outside CI.
pub fn openssl_workdir() -> Option<tempfile::TempDir> {
    have_openssl().then(|| tempfile::tempdir().expect("tmp"))
}

/// Runs openssl in `dir`; returns (success, stdout + stderr).
pub fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

pub fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, text) = openssl(dir, args);
    assert!(ok, "openssl {} failed:\n{text}", args.join(" "));
    text
}

pub fn fixtures_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/data"))
}

pub const OPENSSL_CNF: &str = "\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[v3_server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[v3_client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
";

/// Builds root → intermediate → leaves with the openssl CLI in `d`.
/// `alg` is `ed25519`, `rsa` (PKCS#1 v1.5 signatures), `rsa-pss` (RSASSA-PSS signatures),
/// `p256` (ecdsa-with-SHA256; keys from `openssl ecparam -genkey`, so RFC 5915
/// `EC PRIVATE KEY` files after an `EC PARAMETERS` block), `p384` (ecdsa-with-SHA384)
/// or `p384-sha256` (P-384 keys signing with ecdsa-with-SHA256).
pub fn openssl_hierarchy(d: &Path, alg: &str) {
    fs::write(d.join("cnf"), OPENSSL_CNF).expect("cnf");
    let genkey = |name: &str| {
        let args: Vec<&str> = match alg {
            "ed25519" => vec!["genpkey", "-algorithm", "ed25519", "-out", name],
            "p256" => vec!["ecparam", "-name", "prime256v1", "-genkey", "-out", name],
            "p384" | "p384-sha256" => {
                vec!["ecparam", "-name", "secp384r1", "-genkey", "-out", name]
            }
            _ => vec![
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
                "-out",
                name,
            ],
        };
        openssl_ok(d, &args);
    };
    let sig_opts: Vec<&str> = match alg {
        "ed25519" => vec![],
        "rsa" | "p256" | "p384-sha256" => vec!["-sha256"],
        "p384" => vec!["-sha384"],
        _ => vec![
            "-sha256",
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:32",
        ],
    };
    for name in ["root", "int", "server", "client", "notca", "victim"] {
        genkey(&format!("{name}.key"));
    }
    let mut root = vec![
        "req",
        "-x509",
        "-new",
        "-key",
        "root.key",
        "-subj",
        "/CN=OpenSSL Root",
        "-days",
        "3650",
        "-config",
        "cnf",
        "-extensions",
        "v3_ca",
        "-out",
        "root.pem",
    ];
    root.extend(&sig_opts);
    openssl_ok(d, &root);
    let sign = |subject: &str, key: &str, ca: &str, ext: &str, days: &str, out: &str| {
        let (csr, ca_pem, ca_key) = (
            format!("{out}.csr"),
            format!("{ca}.pem"),
            format!("{ca}.key"),
        );
        openssl_ok(
            d,
            &[
                "req", "-new", "-key", key, "-subj", subject, "-config", "cnf", "-out", &csr,
            ],
        );
        let mut args = vec![
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-set_serial",
            "4660",
            "-days",
            days,
            "-extfile",
            "cnf",
            "-extensions",
            ext,
            "-out",
            out,
        ];
        args.extend(&sig_opts);
        openssl_ok(d, &args);
    };
    sign(
        "/CN=OpenSSL Intermediate",
        "int.key",
        "root",
        "v3_int",
        "3650",
        "int.pem",
    );
    sign(
        "/CN=localhost",
        "server.key",
        "int",
        "v3_server",
        "30",
        "server.pem",
    );
    sign(
        "/CN=carol",
        "client.key",
        "int",
        "v3_client",
        "30",
        "client.pem",
    );
    // A server certificate (CA:FALSE) that then signs another leaf.
    sign(
        "/CN=notca",
        "notca.key",
        "int",
        "v3_server",
        "30",
        "notca.pem",
    );
    sign(
        "/CN=victim",
        "victim.key",
        "notca",
        "v3_server",
        "30",
        "victim.pem",
    );
}

pub fn load(d: &Path, file: &str) -> Certificate {
    let mut certs = Certificate::from_pem_bundle(&fs::read_to_string(d.join(file)).expect("read"))
        .expect("parse");
    certs.remove(0)
}

pub fn check(
    d: &Path,
    leaf: &str,
    extra: &[&str],
    purpose: Purpose,
    name: Option<&str>,
    at: OffsetDateTime,
) -> Result<(), ValidationError> {
    let mut intermediates = vec![load(d, "int.pem")];
    intermediates.extend(extra.iter().map(|f| load(d, f)));
    pki::verify_path(&PathRequest {
        leaf: &load(d, leaf),
        intermediates: &intermediates,
        anchors: &[load(d, "root.pem")],
        time: at,
        purpose,
        name,
    })
    .map(|_| ())
}
