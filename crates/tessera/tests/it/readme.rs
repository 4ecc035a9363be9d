//! The README's first command, `cargo run --release -- serve`, must choose the `tessera` binary
//! by itself: cargo refuses ("could not determine which binary to run") when the workspace's
//! default members hold more than one binary and none is named the default. `.ci/readme-run.sh`
//! runs the command itself and waits for `/healthz`; this is the quick guard in `cargo test`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

#[test]
fn cargo_run_at_the_root_chooses_the_tessera_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let m: Value = serde_json::from_slice(&out.stdout).unwrap();
    let defaults: Vec<&Value> = m["workspace_default_members"]
        .as_array()
        .expect("cargo reports the default members")
        .iter()
        .collect();
    // Each default member's binaries, and its `default-run`.
    let with_bins: Vec<(String, Vec<String>, Option<String>)> = m["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| defaults.contains(&&p["id"]))
        .map(|p| {
            let bins = p["targets"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| t["kind"].as_array().unwrap().contains(&"bin".into()))
                .map(|t| t["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>();
            (
                p["name"].as_str().unwrap().to_owned(),
                bins,
                p["default_run"].as_str().map(str::to_owned),
            )
        })
        .filter(|(_, bins, _)| !bins.is_empty())
        .collect();
    let [(package, bins, default_run)] = with_bins.as_slice() else {
        panic!("`cargo run` would have to choose among the binaries of {with_bins:?}");
    };
    assert_eq!(package, "tessera");
    let chosen = match bins.as_slice() {
        [only] => only,
        _ => default_run
            .as_ref()
            .unwrap_or_else(|| panic!("no default-run among {bins:?}")),
    };
    assert_eq!(chosen, "tessera");
}
