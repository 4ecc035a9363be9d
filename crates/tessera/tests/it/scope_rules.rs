//! `tessera admin scope rule`: a scope's group rule set, refused when malformed, and cleared.

use crate::process::{json, Server};

#[tokio::test]
async fn admin_scope_rule_sets_validates_and_clears_a_group_rule() {
    let server = Server::start();
    let api = json(&server.admin(
        &[
            "admin",
            "client",
            "add",
            "--name",
            "storage",
            "--confidential",
            "--access-token-format",
            "scitoken",
        ],
        None,
    ));
    assert_eq!(api["client"]["access_token_format"], "scitoken");
    let scope = "urn:globus:auth:scope:transfer.api.globus.org:all";
    let set = json(&server.admin(
        &[
            "admin",
            "scope",
            "rule",
            scope,
            "--group",
            "posix:cms",
            "--group",
            "ldap:physics",
            "--capability",
            "read:/data",
            "--capability",
            "write:/home/{username}",
        ],
        None,
    ));
    assert_eq!(set["scope_string"], scope);
    assert_eq!(
        set["group_rule"],
        serde_json::json!({"groups": ["posix:cms", "ldap:physics"],
                           "capabilities": ["read:/data", "write:/home/{username}"]})
    );
    // The same scope by id.
    let id = set["id"].as_str().unwrap();
    let again = json(&server.admin(
        &["admin", "scope", "rule", id, "--group", "posix:cms"],
        None,
    ));
    assert_eq!(
        again["group_rule"]["groups"],
        serde_json::json!(["posix:cms"])
    );

    for (args, says) in [
        (
            vec!["--group", "posix:cms", "--capability", "read:/a/../b"],
            "..",
        ),
        (vec!["--group", "cms"], "posix:<name>"),
        (vec!["--capability", "read:/data"], "at least one group"),
    ] {
        let mut all = vec!["admin", "scope", "rule", scope];
        all.extend(args);
        let out = server.admin(&all, None);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{all:?}: {err}");
    }
    let out = server.admin(
        &[
            "admin",
            "scope",
            "rule",
            "urn:no:such:scope",
            "--group",
            "posix:x",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scope"));

    let cleared = json(&server.admin(&["admin", "scope", "rule", scope, "--clear"], None));
    assert!(cleared.get("group_rule").is_none(), "{cleared}");
}
