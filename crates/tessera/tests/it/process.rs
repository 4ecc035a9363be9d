//! Starting and stopping the binary.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A running `tessera serve` on a free loopback port.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    pub(crate) data_dir: std::path::PathBuf,
    /// Set for a PostgreSQL node.
    pub(crate) database_url: Option<String>,
    /// Owned when the server made its own directory; dropped (deleted) with it.
    _owned: Option<tempfile::TempDir>,
}

/// The master key of test nodes on PostgreSQL (which refuse to start without one).
pub(crate) const TEST_MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

impl Server {
    pub(crate) fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Self::start_in(dir.path());
        s._owned = Some(dir);
        s
    }

    /// A server on a directory the caller keeps (to restart on the same data).
    pub(crate) fn start_in(data_dir: &Path) -> Self {
        Self::start_with(&["--data-dir", &data_dir.display().to_string()], data_dir)
    }

    /// A server on its own directory, with more `serve` flags.
    pub(crate) fn start_flags(flags: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().display().to_string();
        let mut args = vec!["--data-dir", path.as_str()];
        args.extend_from_slice(flags);
        let mut s = Self::start_with(&args, dir.path());
        s._owned = Some(dir);
        s
    }
    /// A node of a cluster on the PostgreSQL database `url`.
    pub(crate) fn start_pg(url: &str, extra: &[&str]) -> Self {
        Self::start_pg_on("127.0.0.1", url, extra)
    }

    /// A node of a cluster listening on `listen`:0 (e.g. `0.0.0.0` for hosts in network
    /// namespaces); its `url` is still the loopback address.
    pub(crate) fn start_pg_on(listen: &str, url: &str, extra: &[&str]) -> Self {
        let mut args = vec!["--database-url", url];
        args.extend_from_slice(extra);
        let mut s = Self::start_with_env(
            listen,
            &args,
            Path::new(""),
            &[("TESSERA_MASTER_KEY", TEST_MASTER_KEY)],
        );
        s.database_url = Some(url.to_owned());
        s
    }

    /// The port this server listens on.
    pub(crate) fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no port in {}", self.url))
    }

    fn start_with(args: &[&str], data_dir: &Path) -> Self {
        Self::start_with_env("127.0.0.1", args, data_dir, &[])
    }

    fn start_with_env(listen: &str, args: &[&str], data_dir: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &format!("{listen}:0")])
            .args(args)
            .env_remove("TESSERA_CONFIG")
            .env_remove("TESSERA_DATABASE_URL")
            .env_remove("TESSERA_MASTER_KEY")
            .env_remove("TESSERA_MASTER_KEY_FILE")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The first stdout line names the bound address.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in {line:?}"))
            .replace("://0.0.0.0:", "://127.0.0.1:");
        Self {
            child,
            url,
            data_dir: data_dir.to_owned(),
            database_url: None,
            _owned: None,
        }
    }

    pub(crate) fn admin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        match &self.database_url {
            Some(url) => {
                let mut a = args.to_vec();
                a.extend(["--database-url", url]);
                run(&a, None, stdin, &[("TESSERA_MASTER_KEY", TEST_MASTER_KEY)])
            }
            None => run(args, Some(&self.data_dir), stdin, &[]),
        }
    }

    /// SIGKILL: no shutdown, no flush, as a crash or an OOM kill.
    pub(crate) fn kill_9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status within 10 s.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.child.kill().unwrap();
        panic!("the server did not stop within 10 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `tessera ARGS [--data-dir DIR]` to completion.
pub(crate) fn run(
    args: &[&str],
    data_dir: Option<&Path>,
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    if let Some(d) = data_dir {
        cmd.arg("--data-dir").arg(d);
    }
    for var in [
        "TESSERA_CONFIG",
        "TESSERA_AUTH_URL",
        "TESSERA_CLIENT_ID",
        "TESSERA_CLIENT_SECRET",
        "TESSERA_DATABASE_URL",
        "TESSERA_MASTER_KEY",
        "TESSERA_MASTER_KEY_FILE",
        "TESSERA_AUDIT_RETENTION",
        "TESSERA_TRANSFER_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        child.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

pub(crate) fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}
