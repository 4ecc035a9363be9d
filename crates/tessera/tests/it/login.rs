//! `tessera login` as a person uses it: `--no-local-server` in a pseudo-terminal (util-linux
//! `script`), the browser step done over HTTP (sign-in form, consent, the auth-code page), the
//! code typed back into the terminal; then `tessera transfer --wait` on that terminal draws its
//! progress bar, refreshing the stored token first; `whoami`, the local-server redirect, and
//! `logout` revoking what was stored.

use crate::commands::{hidden, Browser};
use crate::process::{json, run, Server, BIN};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub(crate) const PASSWORD: &str = "a long enough password";

/// Signs `username` in at the authorize URL and allows the request (unless allowed before);
/// where the server then sends the browser (the redirect URI with the code).
pub(crate) async fn sign_in_and_allow(base: &str, authorize_url: &str, username: &str) -> String {
    let mut b = Browser::new(base);
    let path = authorize_url
        .strip_prefix(base)
        .unwrap_or_else(|| panic!("{authorize_url} is not on {base}"));
    let (_, page) = b.open(path).await;
    let (location, page) = b
        .submit(
            "/v2/web/login",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", &hidden(&page, "request")),
                ("username", username),
                ("password", PASSWORD),
            ],
        )
        .await;
    // Consented before (same app, same scopes): straight back to the app.
    if let Some(l) = location {
        return l;
    }
    assert!(page.contains(">Allow</button>"), "{page}");
    let (location, page) = b
        .submit(
            "/v2/web/consent",
            &[
                ("csrf", &hidden(&page, "csrf")),
                ("request", &hidden(&page, "request")),
                ("decision", "allow"),
            ],
        )
        .await;
    location.unwrap_or_else(|| panic!("no redirect after consent: {page}"))
}

/// The code a person copies from the `/v2/web/auth-code` page at `url`.
pub(crate) async fn code_from_page(url: &str) -> String {
    let page = reqwest::get(url).await.unwrap().text().await.unwrap();
    let start = page.find("id=\"auth-code\"").expect(&page);
    let from = start + page[start..].find('>').unwrap() + 1;
    let to = from + page[from..].find('<').unwrap();
    page[from..to].trim().to_owned()
}

/// `tessera ARGS` on a pseudo-terminal: its screen as it comes (a channel of chunks), and
/// the keyboard (`script` copies its standard input to the terminal).
struct Terminal {
    child: std::process::Child,
    screen: mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Terminal {
    fn start(args: &str, env: &[(&str, &str)]) -> Option<Self> {
        let mut child = Command::new("script")
            .args(["-qefc", &format!("{BIN} {args}"), "/dev/null"])
            .env_remove("TESSERA_CLIENT_ID")
            .env_remove("TESSERA_CLIENT_SECRET")
            .env_remove("TESSERA_TRANSFER_TOKEN")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| eprintln!("no `script` to make a terminal ({e}): not tested"))
            .ok()?;
        let mut out = child.stdout.take().unwrap();
        let (tx, screen) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Some(Self {
            child,
            screen,
            seen: String::new(),
        })
    }

    /// Reads the screen until it shows `text` (at most 60 s).
    fn wait_for(&mut self, text: &str) -> &str {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.contains(text) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.screen.recv_timeout(left) {
                Ok(chunk) => self.seen.push_str(&String::from_utf8_lossy(&chunk)),
                Err(_) => panic!("{text:?} never appeared on: {:?}", self.seen),
            }
        }
        &self.seen
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    /// Waits for the command to end; its exit success and the whole screen.
    fn finish(mut self) -> (bool, String) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "still running: {:?}", self.seen);
            std::thread::sleep(Duration::from_millis(50));
        };
        while let Ok(chunk) = self.screen.recv_timeout(Duration::from_millis(500)) {
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        (status.success(), self.seen)
    }
}

fn stored(path: &Path, base: &str) -> serde_json::Value {
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    file["data"][base].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn login_in_a_terminal_then_transfer_with_a_progress_bar_and_logout() {
    let server = Server::start();
    let base = server.url.trim_end_matches('/').to_owned();
    json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "alice@example.org",
            "--password-stdin",
            "--name",
            "Alice",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::create_dir_all(src.path().join("tree/sub")).unwrap();
    std::fs::write(src.path().join("tree/a.txt"), "alpha\n").unwrap();
    std::fs::write(src.path().join("tree/sub/b.bin"), vec![9u8; 200_000]).unwrap();
    let endpoint = |name: &str, dir: &Path| {
        json(&server.admin(
            &[
                "admin",
                "endpoint",
                "add",
                "--name",
                name,
                "--path",
                &dir.display().to_string(),
                "--owner",
                "alice@example.org",
            ],
            None,
        ))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (src_ep, dst_ep) = (endpoint("src", src.path()), endpoint("dst", dst.path()));
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("tessera/tokens.json");
    let token_file_s = token_file.display().to_string();
    let env = [
        ("TESSERA_AUTH_URL", server.url.as_str()),
        ("TESSERA_TOKEN_FILE", token_file_s.as_str()),
    ];

    // Not logged in yet: the transfer commands say what to do.
    let out = run(&["ls", &format!("{src_ep}:/")], None, None, &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not logged in: run `tessera login`"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A wrong code: the server's refusal, nothing stored; no code at all: the same.
    let out = run(
        &["login", "--no-local-server"],
        None,
        Some("not-a-code\n"),
        &env,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: HTTP 400: invalid_grant"),
        "{stderr}"
    );
    assert!(!token_file.exists());
    let out = run(&["login", "--no-local-server"], None, Some(""), &env);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no code given"));
    assert!(!token_file.exists());
    // A client secret in the environment: login is for people.
    let mut with_secret = env.to_vec();
    with_secret.push(("TESSERA_CLIENT_SECRET", "tcs_x"));
    let out = run(&["login"], None, None, &with_secret);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("for a person"));

    // tessera login --no-local-server, on a terminal.
    let Some(mut term) = Terminal::start("login --no-local-server", &env) else {
        return;
    };
    let screen = term
        .wait_for("Enter the resulting Authorization Code here: ")
        .to_owned();
    let url = screen
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/v2/oauth2/authorize?")))
        .unwrap_or_else(|| panic!("no URL on {screen:?}"))
        .to_owned();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    assert!(url.contains("access_type=offline"), "{url}");
    let redirect = sign_in_and_allow(&base, &url, "alice@example.org").await;
    assert!(
        redirect.starts_with(&format!("{base}/v2/web/auth-code?")),
        "{redirect}"
    );
    let code = code_from_page(&redirect).await;
    assert!(!code.is_empty());
    term.type_line(&code);
    let (ok, screen) = term.finish();
    assert!(ok, "{screen}");
    assert!(
        screen.contains(&format!(
            "You have successfully logged in to {base} as alice@example.org."
        )),
        "{screen}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let login = stored(&token_file, &base);
    assert_eq!(login["client_id"], "95fdeba8-fac2-42bd-a357-e068d82ff78e");
    let first = login["tokens"]["transfer.api.globus.org"].clone();
    assert!(first["refresh_token"].is_string(), "{login}");
    assert!(login["tokens"]["auth.globus.org"].is_object(), "{login}");

    // whoami, with and without linked identities.
    let out = run(&["whoami"], None, None, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "alice@example.org\n");
    let out = run(&["whoami", "--linked-identities"], None, None, &env);
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.starts_with("* alice@example.org (Alice) "),
        "{listed}"
    );

    // The stored transfer token "expired": the next command refreshes it first and writes the
    // new tokens (a rotated refresh token) back.
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    file["data"][&base]["tokens"]["transfer.api.globus.org"]["expires_at_seconds"] = 0.into();
    std::fs::write(&token_file, serde_json::to_vec(&file).unwrap()).unwrap();

    // tessera transfer --wait on a terminal: the task id, a redrawn bar, SUCCEEDED.
    let Some(term) = Terminal::start(
        &format!("transfer {src_ep}:/tree/ {dst_ep}:/copy/ -r --wait"),
        &env,
    ) else {
        return;
    };
    let (ok, screen) = term.finish();
    assert!(ok, "{screen:?}");
    assert!(screen.contains("Task ID: "), "{screen:?}");
    assert!(screen.contains("\x1b[2K"), "no bar drawn: {screen:?}");
    assert!(screen.contains("2/2 files"), "{screen:?}");
    assert!(screen.contains(" SUCCEEDED"), "{screen:?}");
    assert_eq!(
        std::fs::read(dst.path().join("copy/sub/b.bin")).unwrap(),
        vec![9u8; 200_000]
    );
    let renewed = stored(&token_file, &base)["tokens"]["transfer.api.globus.org"].clone();
    assert_ne!(renewed["access_token"], first["access_token"]);
    assert_ne!(renewed["refresh_token"], first["refresh_token"]);
    assert!(renewed["expires_at_seconds"].as_i64().unwrap() > 0);
    // The renewed tokens work for the next command without another refresh.
    let out = run(&["ls", &format!("{dst_ep}:/copy/")], None, None, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(" a.txt\n"));
    assert_eq!(
        stored(&token_file, &base)["tokens"]["transfer.api.globus.org"],
        renewed
    );

    // Logging in again is refused without --force.
    let out = run(&["login", "--no-local-server"], None, None, &env);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already logged in"));

    // The login ending behind the command's back (its transfer refresh token revoked, the
    // access token due): the command says to log in again.
    let rt = renewed["refresh_token"].as_str().unwrap().to_owned();
    let revoked = reqwest::Client::new()
        .post(format!("{base}/v2/oauth2/token/revoke"))
        .form(&[
            ("token", rt.as_str()),
            ("client_id", "95fdeba8-fac2-42bd-a357-e068d82ff78e"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let mut file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&token_file).unwrap()).unwrap();
    file["data"][&base]["tokens"]["transfer.api.globus.org"]["expires_at_seconds"] = 0.into();
    std::fs::write(&token_file, serde_json::to_vec(&file).unwrap()).unwrap();
    let out = run(&["ls", &format!("{dst_ep}:/copy/")], None, None, &env);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("your login to {base} has ended"))
            && stderr.contains("run `tessera login --force`"),
        "{stderr}"
    );

    // logout: revoked (the auth refresh token, alive until now, no longer works) and deleted.
    let rt = stored(&token_file, &base)["tokens"]["auth.globus.org"]["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = run(&["logout"], None, None, &env);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked and deleted"));
    assert!(!token_file.exists());
    let refused = reqwest::Client::new()
        .post(format!("{base}/v2/oauth2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt.as_str()),
            ("client_id", "95fdeba8-fac2-42bd-a357-e068d82ff78e"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let out = run(&["whoami"], None, None, &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not logged in"));
    let out = run(&["logout"], None, None, &env);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("not logged in"));
}

/// Without `--no-local-server`: the code comes back to a listener on 127.0.0.1; through a
/// native app the operator registered (`--client-id`), as the README tells.
#[tokio::test(flavor = "multi_thread")]
async fn login_receives_the_code_on_a_loopback_port() {
    let server = Server::start();
    let base = server.url.trim_end_matches('/').to_owned();
    json(&server.admin(
        &[
            "admin",
            "user",
            "add",
            "bob@example.org",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    let app = json(&server.admin(
        &["admin", "client", "add", "--name", "Lab CLI", "--native"],
        None,
    ));
    let app = app["client_id"].as_str().unwrap().to_owned();
    let home = tempfile::tempdir().unwrap();
    let token_file = home.path().join("tokens.json");
    let mut child = Command::new(BIN)
        .args(["login", "--auth-url", &server.url, "--client-id", &app])
        .args(["--scope", "openid"])
        .args(["--scope", "profile", "--token-file"])
        .arg(&token_file)
        .env_remove("TESSERA_CLIENT_SECRET")
        .env_remove("DISPLAY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0);
        if line.starts_with(&format!("{base}/v2/oauth2/authorize?")) {
            break line.trim().to_owned();
        }
    };
    assert!(
        url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"),
        "{url}"
    );
    let redirect = sign_in_and_allow(&base, &url, "bob@example.org").await;
    assert!(redirect.starts_with("http://127.0.0.1:"), "{redirect}");
    // A request without the flow's state is not taken for the answer.
    let port_root = &redirect[..redirect.find('?').unwrap()];
    let wrong = reqwest::get(format!("{port_root}?code=forged&state=nope"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(wrong.contains("not the sign-in"), "{wrong}");
    let page = reqwest::get(&redirect).await.unwrap().text().await.unwrap();
    assert!(page.contains("You are logged in"), "{page}");
    let status = child.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{rest}");
    assert!(
        rest.contains(&format!("logged in to {base} as bob@example.org")),
        "{rest}"
    );
    let login = stored(&token_file, &base);
    assert_eq!(login["client_id"], app.as_str());
    assert_eq!(login["client_id"], app.as_str());
    assert_eq!(
        login["tokens"]["auth.globus.org"]["scope"],
        "openid profile"
    );
    // Transfer was not asked for: the transfer commands say so.
    let out = run(
        &["ls", "00000000-0000-4000-8000-000000000000:/"],
        None,
        None,
        &[
            ("TESSERA_AUTH_URL", server.url.as_str()),
            ("TESSERA_TOKEN_FILE", &token_file.display().to_string()),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no token for transfer.api.globus.org"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
