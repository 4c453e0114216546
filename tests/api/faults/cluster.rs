//! A PostgreSQL instance of the test's own, in a directory the test gives
//! (a tempdir, or a small tmpfs to fill): a test may stop, restart or starve
//! it without disturbing the machine's shared server that other tests use.
//! It listens on 127.0.0.1 at a free port, keeps its unix socket in its own
//! directory, trusts every local connection and syncs its commits (`fsync`
//! on), as a production server would.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The settings every start uses, written once into `postgresql.conf`: small
/// and quick to start, yet room for two servers' pools.
const SETTINGS: &[(&str, &str)] = &[
    ("listen_addresses", "'127.0.0.1'"),
    ("shared_buffers", "16MB"),
    ("max_connections", "200"),
    ("fsync", "on"),
    ("synchronous_commit", "on"),
    ("full_page_writes", "on"),
    ("logging_collector", "off"),
    ("log_min_messages", "warning"),
];

/// A PostgreSQL cluster under a directory of the test's: `data/` (PGDATA),
/// `run/` (its unix socket), `postgres.log`. Stopped (immediately) on drop;
/// the directory is left to the caller's tempdir.
pub struct PgCluster {
    bin: PathBuf,
    data: PathBuf,
    log: PathBuf,
    pub port: u16,
    /// Run the binaries as `postgres` (`runuser`): they refuse to run as root.
    as_postgres: bool,
    /// The environment of the last start, kept for [`PgCluster::restart`].
    env: Vec<(String, String)>,
    running: bool,
}

impl PgCluster {
    /// A new cluster in `dir` (made when missing), started. `None`, saying
    /// why, when PostgreSQL's binaries are not installed; a panic instead
    /// when `SOURCELEDGER_TEST_REQUIRE_POSTGRES` is set.
    pub fn init(dir: &Path) -> Option<PgCluster> {
        let Some(bin) = binaries() else {
            assert!(
                std::env::var_os("SOURCELEDGER_TEST_REQUIRE_POSTGRES").is_none(),
                "SOURCELEDGER_TEST_REQUIRE_POSTGRES is set but no PostgreSQL binaries (initdb, pg_ctl) are under /usr/lib/postgresql/*/bin"
            );
            eprintln!(
                "SKIPPED: PostgreSQL fault test, no initdb and pg_ctl under /usr/lib/postgresql/*/bin (install postgresql)"
            );
            return None;
        };
        std::fs::create_dir_all(dir).expect("make the cluster's directory");
        let as_postgres = effective_uid() == Some(0);
        if as_postgres {
            let_postgres_in(dir);
        }
        let dir = dir.canonicalize().expect("the cluster's directory");
        let mut cluster = PgCluster {
            bin,
            data: dir.join("data"),
            log: dir.join("postgres.log"),
            port: crate::process::free_port(),
            as_postgres,
            env: Vec::new(),
            running: false,
        };
        let socket = dir.join("run");
        std::fs::create_dir_all(&socket).expect("make the socket directory");
        if as_postgres {
            let_postgres_in(&socket);
        }
        // --no-sync: only initdb's own files are not synced (nothing here
        // survives a power cut); the server itself syncs every commit.
        let out = cluster
            .command("initdb")
            .arg("-D")
            .arg(&cluster.data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
            ])
            .arg("--no-sync")
            .output()
            .expect("run initdb");
        assert!(out.status.success(), "initdb failed: {}", said(&out));
        let mut conf = String::from("\n# tests/api/faults/cluster.rs\n");
        conf.push_str(&format!("port = {}\n", cluster.port));
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            socket.display()
        ));
        for (name, value) in SETTINGS {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        let conf_path = cluster.data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf_path).expect("read postgresql.conf");
        text.push_str(&conf);
        std::fs::write(&conf_path, text).expect("write postgresql.conf");
        cluster.start();
        Some(cluster)
    }

    /// Where a server connects: the superuser `postgres`, trusted.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts it and waits until it accepts connections.
    pub fn start(&mut self) {
        let env = std::mem::take(&mut self.env);
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (&**k, &**v)).collect();
        self.start_with_env(&pairs);
    }

    /// Starts it with `env` added to its environment (e.g. `LD_PRELOAD` of a
    /// shim), kept for later [`restart`](Self::restart)s and
    /// [`start`](Self::start)s.
    pub fn start_with_env(&mut self, env: &[(&str, &str)]) {
        assert!(!self.running, "PostgreSQL is already running");
        self.env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut command = self.command_with_env("pg_ctl", &self.env);
        command
            .arg("start")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", "60"]);
        // Marked running first: a start that timed out may have left a
        // server up, which Drop must still stop.
        self.running = true;
        let out = command.output().expect("run pg_ctl start");
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\nlog:\n{}",
            said(&out),
            self.log_tail()
        );
    }

    /// A fast shutdown (open sessions are ended, in-flight transactions
    /// rolled back), waiting until it is down.
    pub fn stop(&mut self) {
        self.pg_ctl_stop("fast");
    }

    /// Stopped (fast) and started again, with the environment of the last start.
    pub fn restart(&mut self) {
        self.stop();
        self.start();
    }

    /// The last lines of its log, for failure messages.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    fn pg_ctl_stop(&mut self, mode: &str) {
        if !self.running {
            return;
        }
        let out = self
            .command("pg_ctl")
            .arg("stop")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", mode, "-w", "-t", "60"])
            .output()
            .expect("run pg_ctl stop");
        assert!(
            out.status.success() || std::thread::panicking(),
            "pg_ctl stop failed: {}\nlog:\n{}",
            said(&out),
            self.log_tail()
        );
        self.running = false;
    }

    /// One of PostgreSQL's programs, as `postgres` when we are root.
    fn command(&self, program: &str) -> Command {
        self.command_with_env(program, &[])
    }

    /// The same with `env` added: set by `env(1)` past `runuser`, so a
    /// preloaded shim reaches PostgreSQL and never `runuser` itself.
    fn command_with_env(&self, program: &str, env: &[(String, String)]) -> Command {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c
        } else {
            Command::new("env")
        };
        if self.as_postgres {
            command.arg("env");
        }
        command
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .arg(self.bin.join(program))
            // Not the machine's PostgreSQL: no PG* variable leaks in.
            .env_remove("PGDATA")
            .env_remove("PGPORT")
            .env_remove("PGHOST");
        command
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.pg_ctl_stop("immediate");
    }
}

/// The newest installed PostgreSQL's bin directory with initdb and pg_ctl.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// This process's effective user id, from `/proc/self/status`.
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// Gives `dir` to the `postgres` user, and lets it pass through every
/// directory above (search only, `o+x`: a tempdir is 0700 root's).
fn let_postgres_in(dir: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .expect("run chown");
    assert!(status.success(), "chown {} to postgres", dir.display());
    use std::os::unix::fs::PermissionsExt;
    let dir = dir.canonicalize().expect("canonical path");
    for parent in dir.ancestors().skip(1) {
        let Ok(meta) = std::fs::metadata(parent) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            std::fs::set_permissions(parent, std::fs::Permissions::from_mode(mode | 0o001))
                .expect("let postgres pass through the test's directory");
        }
    }
}

fn said(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
