//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` and `pg_ctl` from
//! Debian's `/usr/lib/postgresql/<version>/bin`, a data directory under the system's
//! temporary directory, a free port on 127.0.0.1, password authentication (SCRAM) for TCP
//! and a user `keylab`. PostgreSQL refuses to run as root, so when the tests run as root
//! the cluster runs as the `postgres` user (through `runuser`) on a directory it owns.
//! Dropping the [`Cluster`] stops the server and removes the directory.
//!
//! Missing PostgreSQL is a notice and `None`, except under `CI=true`, where it panics.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The user the tests connect as.
pub const USER: &str = "keylab";

/// A running PostgreSQL cluster.
#[derive(Debug)]
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    password: String,
    run_as: Option<String>,
    durable: bool,
}

/// How the cluster writes: `Fast` turns fsync off (tests: the server is never crashed,
/// only stopped cleanly), `Durable` keeps PostgreSQL's defaults (benchmarks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// fsync off.
    Fast,
    /// PostgreSQL's defaults.
    Durable,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`.
pub fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

impl Cluster {
    /// Starts a cluster, or says why not and returns `None` (panics under `CI=true`).
    pub fn start(mode: Mode) -> Option<Self> {
        let Some(bin) = bin_dir() else {
            let message = "PostgreSQL is not installed (Debian: apt install postgresql)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{message}: it is required under CI=true"
            );
            eprintln!("skipped: {message}");
            return None;
        };
        Some(Self::start_in(bin, mode))
    }

    fn start_in(bin: PathBuf, mode: Mode) -> Self {
        let run_as = is_root().then(|| "postgres".to_owned());
        // The server's user must reach its directory: as root, not under TMPDIR (which may
        // sit in root's 0700 home) but in /tmp.
        let parent = if run_as.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("keylab-pg")
            .tempdir_in(parent)
            .expect("a temporary directory");
        let password = format!("pw-{}", std::process::id());
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, &password).expect("write the password file");
        if let Some(user) = &run_as {
            give_to(dir.path(), user);
            give_to(&pwfile, user);
        }
        let cluster = Self {
            port: free_port(),
            dir,
            bin,
            password,
            run_as,
            durable: mode == Mode::Durable,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                &format!("--pwfile={}", pwfile.display()),
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        cluster.start_server();
        cluster
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Starts the server (again, after [`Cluster::stop_server`]), waiting until it
    /// accepts connections.
    pub fn start_server(&self) {
        let mut options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        if !self.durable {
            options.push_str(" -c fsync=off -c full_page_writes=off");
        }
        let log = self.dir.path().join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&self.data_dir()),
                "-l",
                path_str(&log),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: open connections are cut).
    pub fn stop_server(&self) {
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.data_dir()), "-m", "fast", "-w", "stop"],
        );
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The password of [`USER`] (give it in `PGPASSWORD`).
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `postgres://keylab@127.0.0.1:PORT/DB`, with no password in it.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A client connected to database `db`.
    pub fn connect(&self, db: &str) -> postgres::Client {
        postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .user(USER)
            .password(&self.password)
            .dbname(db)
            .connect(postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// Creates an empty database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.connect("postgres")
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .expect("create a database");
        self.url(name)
    }

    /// Runs `tool` from the cluster's bin directory (as `postgres` when root); panics
    /// with its output if it fails.
    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let program = self.bin.join(tool);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        let output = command.args(args).output().expect("run a PostgreSQL tool");
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let program = self.bin.join("pg_ctl");
        let data = self.data_dir();
        let args = ["-D", path_str(&data), "-m", "immediate", "-w", "stop"];
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        // Already stopped is fine; the directory goes with `dir`.
        let _ = command.args(args).output();
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn is_root() -> bool {
    id(&["-u"]).as_deref() == Some("0")
}

/// `id ARGS`, trimmed.
fn id(args: &[&str]) -> Option<String> {
    let out = Command::new("id").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Makes `user` the owner of `path`.
fn give_to(path: &Path, user: &str) {
    let uid = id(&["-u", user]).and_then(|v| v.parse().ok());
    let gid = id(&["-g", user]).and_then(|v| v.parse().ok());
    std::os::unix::fs::chown(path, uid, gid).expect("chown to the PostgreSQL user");
}
