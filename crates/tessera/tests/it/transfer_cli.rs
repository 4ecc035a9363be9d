//! `tessera transfer`, `ls` and `task` against the real server: a small tree copied
//! byte-identically with `--recursive --wait` (not on a terminal: plain progress lines), listed,
//! the task shown as SUCCEEDED, and a bad endpoint refused with a clear error.

use crate::process::{json, run, Server};
use std::collections::BTreeMap;
use std::path::Path;

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if e.file_type().unwrap().is_dir() {
                out.insert(rel + "/", Vec::new());
                stack.push(e.path());
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

#[test]
fn tessera_transfer_copies_a_tree_and_ls_and_task_show_it() {
    let (src, dst) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::create_dir_all(src.path().join("tree/sub/deeper")).unwrap();
    std::fs::create_dir_all(src.path().join("tree/empty")).unwrap();
    std::fs::write(src.path().join("tree/a.txt"), "alpha\n").unwrap();
    std::fs::write(
        src.path().join("tree/sub/b.bin"),
        (0..300_000u32).map(|i| (i % 253) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    std::fs::write(src.path().join("tree/sub/deeper/c d.txt"), "").unwrap();

    let server = Server::start();
    let client = json(&server.admin(
        &["admin", "client", "add", "--name", "cli", "--confidential"],
        None,
    ));
    let (id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );
    let add = |name: &str, dir: &Path| {
        let out = json(&server.admin(
            &[
                "admin",
                "endpoint",
                "add",
                "--name",
                name,
                "--path",
                &dir.display().to_string(),
                "--owner",
                id,
            ],
            None,
        ));
        out["id"].as_str().unwrap().to_owned()
    };
    let (src_ep, dst_ep) = (add("src", src.path()), add("dst", dst.path()));
    let env = [
        ("TESSERA_AUTH_URL", server.url.as_str()),
        ("TESSERA_CLIENT_ID", id),
        ("TESSERA_CLIENT_SECRET", secret),
    ];
    let tessera = |args: &[&str]| run(args, None, None, &env);

    let out = tessera(&[
        "transfer",
        &format!("{src_ep}:/tree/"),
        &format!("{dst_ep}:/copy/"),
        "--recursive",
        "--verify-checksum",
        "--sync-level",
        "checksum",
        "--label",
        "cli test",
        "--wait",
    ]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "transfer failed: {stderr}\n{stdout}");
    // stdout: the submission, then the finished task, one JSON document a line.
    let docs: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs.len(), 2, "{stdout}");
    assert_eq!(docs[0]["code"], "Accepted");
    let task_id = docs[0]["task_id"].as_str().unwrap().to_owned();
    assert_eq!(docs[1]["task_id"], task_id.as_str());
    assert_eq!(docs[1]["status"], "SUCCEEDED");
    assert_eq!(docs[1]["label"], "cli test");
    // stderr: plain progress lines (no bar, no escape codes), the last one SUCCEEDED.
    assert!(!stderr.contains('\x1b'), "{stderr:?}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("task {task_id}: SUCCEEDED 3/3 files, ")),
        "{stderr}"
    );
    assert_eq!(
        tree(&src.path().join("tree")),
        tree(&dst.path().join("copy"))
    );

    // Again with sync level checksum (the numbers, 3): nothing changed, nothing to copy.
    let out = tessera(&[
        "transfer",
        &format!("{src_ep}:/tree/"),
        &format!("{dst_ep}:/copy/"),
        "-r",
        "--sync-level",
        "3",
        "--no-verify-checksum",
        "--wait",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr
            .trim_end()
            .ends_with(": SUCCEEDED 3/3 files, 0 B, 0 B/s"),
        "{stderr}"
    );
    let done: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(done["files_skipped"], 3, "{done}");
    assert_eq!(done["sync_level"], 3, "{done}");
    assert_eq!(
        tree(&src.path().join("tree")),
        tree(&dst.path().join("copy"))
    );

    // On a terminal (a pty from util-linux `script`): the task id line and a redrawn bar.
    match std::process::Command::new("script")
        .args(["-qec"])
        .arg(format!(
            "{} transfer {src_ep}:/tree/ {dst_ep}:/on-a-tty/ -r --wait",
            crate::process::BIN
        ))
        .arg("/dev/null")
        .envs(env)
        .env_remove("TESSERA_TRANSFER_TOKEN")
        .output()
    {
        Ok(out) => {
            let screen = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{screen}");
            assert!(screen.contains("Task ID: "), "{screen}");
            assert!(screen.contains("\x1b[2K"), "no bar drawn: {screen:?}");
            assert!(screen.contains("3/3 files"), "{screen:?}");
            assert!(screen.contains("[00:00:"), "{screen:?}");
            assert!(screen.contains(" SUCCEEDED"), "{screen:?}");
            assert_eq!(
                tree(&src.path().join("tree")),
                tree(&dst.path().join("on-a-tty"))
            );
        }
        Err(e) => eprintln!("no `script` to make a terminal ({e}): the bar is not tested"),
    }

    let out = tessera(&["ls", &format!("{dst_ep}:/copy/sub")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["b.bin", "deeper/"], "{listing}");
    assert!(listing.contains(" 300000 "), "{listing}");
    // With a transfer token instead of the client's credentials.
    let token = tessera(&[
        "token",
        "get",
        "urn:globus:auth:scope:transfer.api.globus.org:all",
    ]);
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();
    let by_token = run(
        &["ls", &format!("{dst_ep}:/copy/sub")],
        None,
        None,
        &[
            ("TESSERA_AUTH_URL", server.url.as_str()),
            ("TESSERA_TRANSFER_TOKEN", token.trim()),
        ],
    );
    assert!(by_token.status.success());
    assert_eq!(by_token.stdout, out.stdout);
    let out = run(
        &[
            "ls",
            &format!("{dst_ep}:/copy/sub"),
            "--token",
            "not-a-token",
        ],
        None,
        None,
        &[("TESSERA_AUTH_URL", server.url.as_str())],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: HTTP 401"));
    let listed = json(&tessera(&["ls", "--json", &format!("{dst_ep}:/copy/")]));
    assert_eq!(listed["DATA_TYPE"], "file_list");
    assert_eq!(listed["length"], 3);

    let shown = json(&tessera(&["task", "show", &task_id]));
    assert_eq!(shown["status"], "SUCCEEDED");
    assert_eq!(shown["files_transferred"], 3);
    assert_eq!(shown["bytes_transferred"], 300_006);
    let waited = tessera(&["task", "wait", &task_id]);
    assert!(waited.status.success());
    // Without --wait: the submission alone, then `task wait` follows it to the end.
    let out = tessera(&[
        "transfer",
        &format!("{src_ep}:/tree/a.txt"),
        &format!("{dst_ep}:/single.txt"),
    ]);
    assert!(out.status.success());
    assert!(out.stderr.is_empty());
    let later = json(&out)["task_id"].as_str().unwrap().to_owned();
    let waited = tessera(&["task", "wait", &later]);
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert!(waited.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("task {later}: SUCCEEDED 1/1 files, 6 B")),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dst.path().join("single.txt")).unwrap(),
        b"alpha\n"
    );
    // Canceling a finished task cancels nothing: the server says so, exit 1, still SUCCEEDED.
    let out = tessera(&["task", "cancel", &task_id]);
    assert_eq!(out.status.code(), Some(1));
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["code"], "TaskComplete");
    assert_eq!(
        json(&tessera(&["task", "show", &task_id]))["status"],
        "SUCCEEDED"
    );

    // Canceling a running task: 1000 files and 32 MiB take the (debug) server seconds, the
    // cancel comes right after the submission.
    let many = src.path().join("many");
    std::fs::create_dir(&many).unwrap();
    for f in 0..1000 {
        std::fs::write(many.join(format!("f{f:04}")), vec![b'x'; 1024]).unwrap();
    }
    std::fs::write(many.join("big"), vec![7u8; 32 << 20]).unwrap();
    let out = tessera(&[
        "transfer",
        &format!("{src_ep}:/many/"),
        &format!("{dst_ep}:/many/"),
        "-r",
        "--verify-checksum",
    ]);
    let running = json(&out)["task_id"].as_str().unwrap().to_owned();
    let out = tessera(&["task", "cancel", &running]);
    assert_eq!(json(&out)["code"], "Canceled");
    let waited = tessera(&["task", "wait", &running]);
    let stderr = String::from_utf8_lossy(&waited.stderr);
    assert_eq!(waited.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("task {running}: FAILED ")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("task {running}: CANCELED: ")),
        "{stderr}"
    );

    // A bad endpoint: the server's words, a nonzero exit, no panic, no task.
    let out = tessera(&[
        "transfer",
        "00000000-0000-4000-8000-000000000000:/tree/",
        &format!("{dst_ep}:/again/"),
        "--recursive",
        "--wait",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.starts_with("error: HTTP 404: "), "{stderr}");
    assert!(stderr.contains("EndpointNotFound"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(!dst.path().join("again").exists());
    // A task that fails: exit 1, the reason on standard error, the FAILED task on stdout.
    let out = tessera(&[
        "transfer",
        &format!("{src_ep}:/missing"),
        &format!("{dst_ep}:/nothing"),
        "--wait",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let submitted: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let failed_id = submitted["task_id"].as_str().unwrap();
    assert!(
        stderr.contains(&format!("task {failed_id}: FAILED 0/0 files")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("task {failed_id}: FILE_NOT_FOUND: /missing")),
        "{stderr}"
    );
    let failed: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(failed["status"], "FAILED");
    let out = tessera(&["ls", "not-an-endpoint"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ENDPOINT_ID:PATH"));
    // The token after the subcommand, as for every other flag; a server that is not there.
    let out = run(
        &["task", "show", &task_id, "--token", "t"],
        None,
        None,
        &[("TESSERA_AUTH_URL", "http://127.0.0.1:1")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: could not reach the server"));
    let out = tessera(&["task", "show", "00000000-0000-4000-8000-000000000001"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 404"));
}
