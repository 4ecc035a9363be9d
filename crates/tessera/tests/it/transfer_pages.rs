//! The file manager, activity and sharing pages on the `tessera serve` listener, over plain HTTP
//! with a cookie jar (no JavaScript): signed out, forged and hostile forms (refused, nothing
//! changed on disk, never a 5xx), a stranger kept out of an endpoint they cannot read, a
//! transfer started from the panes and watched to SUCCEEDED, a share given to a second person.
//! The whole flow in a real browser is tests/browser/files.test.mjs.

use crate::group_pages::{user, Jar, Page};
use crate::process::{json, Server};
use std::path::Path;
use std::time::{Duration, Instant};

/// What an attribute's value says, entities decoded.
fn unescape(s: &str) -> String {
    s.replace("&#x2f;", "/")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

fn add_endpoint(server: &Server, name: &str, dir: &Path, owner: &str) -> String {
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
            owner,
        ],
        None,
    ));
    out["id"].as_str().unwrap().to_owned()
}

fn files(left: &str, right: &str) -> String {
    let enc = |v: &str| -> String {
        v.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!("/v2/web/files?left={}&right={}", enc(left), enc(right))
}

/// A form of the panes: its hidden context and more.
fn pane_form<'a>(
    csrf: &'a str,
    side: &'a str,
    left: &'a str,
    right: &'a str,
    more: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("csrf", csrf),
        ("side", side),
        ("left", left),
        ("right", right),
    ];
    f.extend_from_slice(more);
    f
}

fn no_server_error(p: &Page, what: &str) {
    assert!(p.status < 500, "{what}: {} {}", p.status, p.text);
}

#[tokio::test]
async fn transfer_pages_refuse_forgeries_keep_strangers_out_and_move_files() {
    let server = Server::start();
    user(&server, "ada@example.org");
    user(&server, "bob@example.org");
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    std::fs::create_dir_all(a_dir.path().join("data/run1")).unwrap();
    std::fs::write(a_dir.path().join("data/run1/one.bin"), vec![7u8; 70_000]).unwrap();
    std::fs::write(a_dir.path().join("data/readme.txt"), b"hello").unwrap();
    std::fs::write(b_dir.path().join("bob-secret.txt"), b"secret").unwrap();
    let ada_ep = add_endpoint(&server, "Ada lab", a_dir.path(), "ada@example.org");
    let bob_ep = add_endpoint(&server, "Bob private", b_dir.path(), "bob@example.org");

    // Signed out: to the sign-in page, which comes back to the same panes.
    let mut ada = Jar::new(&server);
    let here = files(&format!("{ada_ep}:/data/"), "");
    let r = ada.get(&here).await;
    assert_eq!(r.status, 303);
    let to = r.location.unwrap();
    assert!(to.starts_with("/v2/web/login?next="), "{to}");
    assert!(to.contains(&ada_ep), "{to}");
    for path in [
        "/v2/web/activity",
        "/v2/web/shares/00000000-0000-4000-8000-000000000001",
    ] {
        assert_eq!(ada.get(path).await.status, 303, "{path}");
    }

    ada.sign_in("ada@example.org").await;
    let home = ada.get("/").await;
    assert!(
        home.text.contains("web&#x2f;files\">Files</a>"),
        "no Files link"
    );
    assert!(home.text.contains("web&#x2f;activity\">Activity</a>"));

    // The picker: her endpoint, not Bob's.
    let picker = ada.get("/v2/web/files").await;
    assert_eq!(picker.status, 200);
    assert!(picker.text.contains("Ada lab") && !picker.text.contains("Bob private"));
    assert!(!picker.text.contains("<script"));
    let activity = ada.get("/v2/web/activity").await;
    assert!(
        activity.text.contains("No transfers yet"),
        "{}",
        activity.text
    );

    // A listing: folders first, then files.
    let left = format!("{ada_ep}:/data/");
    let right = format!("{ada_ep}:/");
    let page = ada.get(&files(&left, &right)).await;
    assert_eq!(page.status, 200, "{}", page.text);
    let (d, f) = (
        page.text.find("run1/").unwrap(),
        page.text.find("readme.txt").unwrap(),
    );
    assert!(d < f, "folders first");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(page.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));

    // A stranger's endpoint: refused, nothing of it shown.
    let r = ada.get(&files(&format!("{bob_ep}:/"), "")).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(!r.text.contains("bob-secret.txt"));
    assert!(r.text.contains("permission"), "{}", r.text);
    let r = ada
        .get(&files("00000000-0000-4000-8000-000000000001:/", ""))
        .await;
    assert_eq!(r.status, 404);
    let r = ada.get(&files(&format!("{ada_ep}:/../etc/"), "")).await;
    assert_eq!(r.status, 400, "{}", r.text);

    // Forged forms change nothing.
    for token in ["", "forged-token-forged-token-forged-token-for"] {
        let f = pane_form(token, "left", &left, &right, &[("name", "forged")]);
        let r = ada.post("/v2/web/files/mkdir", &f).await;
        assert_eq!(r.status, 400, "{token:?}");
        assert!(r.text.contains("This form has expired"));
    }
    assert!(!a_dir.path().join("data/forged").exists());

    // Hostile names and places: the reason, never a 5xx, nothing on disk.
    let csrf = ada.csrf();
    for name in ["", "..", "a/b", "."] {
        let f = pane_form(&csrf, "left", &left, &right, &[("name", name)]);
        let r = ada.post("/v2/web/files/mkdir", &f).await;
        assert_eq!(r.status, 400, "{name:?}: {}", r.text);
        assert!(r.text.contains("Nothing was changed"));
    }
    let bob_left = format!("{bob_ep}:/");
    let f = pane_form(&csrf, "left", &bob_left, &right, &[("name", "intruder")]);
    let r = ada.post("/v2/web/files/mkdir", &f).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(!b_dir.path().join("intruder").exists());
    for (op, items) in [
        ("transfer", vec![]),
        ("rename", vec!["f:a", "f:b"]),
        ("explode", vec!["f:a"]),
    ] {
        let mut more = vec![("op", op)];
        more.extend(items.iter().map(|i| ("item", *i)));
        let r = ada
            .post(
                "/v2/web/files/act",
                &pane_form(&csrf, "left", &left, &right, &more),
            )
            .await;
        assert_eq!(r.status, 400, "{op}: {}", r.text);
    }
    let r = ada
        .post(
            "/v2/web/files/delete",
            &pane_form(
                &csrf,
                "left",
                &bob_left,
                &right,
                &[("item", "f:bob-secret.txt")],
            ),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = ada
        .post(
            "/v2/web/files/transfer",
            &pane_form(
                &csrf,
                "left",
                &bob_left,
                &right,
                &[("item", "f:bob-secret.txt")],
            ),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    no_server_error(&r, "transfer from a stranger's endpoint");

    // A folder, then a transfer of a folder into it, watched to the end.
    let f = pane_form(&csrf, "right", &left, &right, &[("name", "copies")]);
    let r = ada.post("/v2/web/files/mkdir", &f).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(a_dir.path().join("copies").is_dir());
    let right = format!("{ada_ep}:/copies/");
    let confirm = ada
        .post(
            "/v2/web/files/act",
            &pane_form(
                &csrf,
                "left",
                &left,
                &right,
                &[("op", "transfer"), ("item", "d:run1")],
            ),
        )
        .await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.text.contains("sync_level"));
    let r = ada
        .post(
            "/v2/web/files/transfer",
            &pane_form(
                &csrf,
                "left",
                &left,
                &right,
                &[
                    ("item", "d:run1"),
                    ("verify_checksum", "1"),
                    ("label", "pages test"),
                ],
            ),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let back = r.location.unwrap();
    let task = back.split("task=").nth(1).unwrap().to_owned();
    let task_page = format!("/v2/web/activity/{task}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let p = ada.get(&task_page).await;
        assert_eq!(p.status, 200);
        if p.text.contains(">SUCCEEDED<") {
            assert!(p.headers.get("refresh").is_none(), "no reloads once done");
            break;
        }
        assert!(p.headers.get("refresh").is_some(), "live while active");
        assert!(Instant::now() < deadline, "{}", p.text);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        std::fs::read(a_dir.path().join("copies/run1/one.bin")).unwrap(),
        vec![7u8; 70_000]
    );
    let list = ada.get("/v2/web/activity").await;
    assert!(list.text.contains("pages test") && list.text.contains("SUCCEEDED"));

    // Bob sees neither Ada's task nor her sharing page, and cannot cancel her task.
    let mut bob = Jar::new(&server);
    bob.sign_in("bob@example.org").await;
    let r = bob.get(&task_page).await;
    assert_eq!(r.status, 404);
    assert!(!r.text.contains("pages test"));
    let bob_csrf = bob.csrf();
    let r = bob
        .post(&format!("{task_page}/cancel"), &[("csrf", &bob_csrf)])
        .await;
    assert_eq!(r.status, 404);
    assert!(!bob
        .get("/v2/web/activity")
        .await
        .text
        .contains("pages test"));

    // Ada shares /data/ with Bob, read only.
    let r = ada
        .post(
            "/v2/web/files/share",
            &[
                ("csrf", &csrf),
                ("endpoint", &ada_ep),
                ("path", "/data/"),
                ("name", "Ada's data for Bob"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let share_page = r.location.unwrap().split('?').next().unwrap().to_owned();
    let share_id = share_page.rsplit('/').next().unwrap().to_owned();
    assert_eq!(bob.get(&share_page).await.status, 403);
    let r = bob
        .post(
            &format!("{share_page}/access"),
            &[
                ("csrf", &bob_csrf),
                ("kind", "identity"),
                ("username", "bob@example.org"),
                ("permissions", "rw"),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    let r = bob.get(&files(&format!("{share_id}:/"), "")).await;
    assert_eq!(r.status, 403, "not yet shared: {}", r.text);
    for (username, status) in [("nobody@example.org", 400), ("", 400)] {
        let r = ada
            .post(
                &format!("{share_page}/access"),
                &[
                    ("csrf", &csrf),
                    ("kind", "identity"),
                    ("username", username),
                    ("permissions", "r"),
                    ("path", "/"),
                ],
            )
            .await;
        assert_eq!(r.status, status, "{username}: {}", r.text);
        assert!(r.text.contains("Nobody was added"));
    }
    let r = ada
        .post(
            &format!("{share_page}/access"),
            &[
                ("csrf", &csrf),
                ("kind", "identity"),
                ("username", "bob@example.org"),
                ("permissions", "r"),
                ("path", "/"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let shared = ada.get(&share_page).await;
    assert!(shared.text.contains("bob@example.org"), "{}", shared.text);

    let picker = bob.get("/v2/web/files").await;
    assert!(
        picker.text.contains("Ada&#x27;s data for Bob"),
        "{}",
        picker.text
    );
    let r = bob.get(&files(&format!("{share_id}:/"), "")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("readme.txt") && r.text.contains("run1/"));
    assert!(!r.text.contains("copies"), "only the shared folder");
    // Read only: no write forms, and a forged mkdir is refused.
    assert!(
        !r.text.contains("/v2/web/files/mkdir") && !r.text.contains("web&#x2f;files&#x2f;mkdir")
    );
    let share_left = format!("{share_id}:/");
    let r = bob
        .post(
            "/v2/web/files/mkdir",
            &pane_form(&bob_csrf, "left", &share_left, "", &[("name", "bobs")]),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(!a_dir.path().join("data/bobs").exists());

    // Ada removes the rule; Bob is out again.
    let rule = unescape(&shared.text)
        .split("/access/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let r = ada
        .post(
            &format!("{share_page}/access/{rule}/delete"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(bob.get(&files(&share_left, "")).await.status, 403);
}
