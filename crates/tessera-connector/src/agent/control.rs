//! The check-in loop: `POST <server>/connector/v1/poll` with the connector's id and secret
//! (HTTP Basic), its public URL, the fingerprint of its TLS certificate and the reports it
//! kept; the answer carries its capability key and when to come back. A failed check-in is tried again with backoff (1 s doubling to 30 s),
//! so the connector reconnects by itself after either side restarts; meanwhile it keeps
//! serving with the key it has (kept in `<state-dir>/capability.key`, mode 0600) and keeps its
//! reports (`<state-dir>/reports/`) until a check-in acknowledges them.

use super::Agent;
use crate::wire::{JobReport, PollRequest, PollResponse, POLL_PATH};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const KEY_FILE: &str = "capability.key";
/// At most this many reports per check-in.
const REPORTS_PER_POLL: usize = 500;

pub(super) fn load_key(state_dir: &Path) -> Option<Vec<u8>> {
    let text = std::fs::read_to_string(state_dir.join(KEY_FILE)).ok()?;
    URL_SAFE_NO_PAD.decode(text.trim()).ok()
}

fn save_key(state_dir: &Path, encoded: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = state_dir.join(format!("{KEY_FILE}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(encoded.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(tmp, state_dir.join(KEY_FILE))
}

fn pending_reports(state_dir: &Path) -> Vec<(PathBuf, JobReport)> {
    let Ok(dir) = std::fs::read_dir(state_dir.join("reports")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        if let Some(r) = std::fs::read(&path)
            .ok()
            .and_then(|d| serde_json::from_slice::<JobReport>(&d).ok())
        {
            out.push((path, r));
        }
        if out.len() >= REPORTS_PER_POLL {
            break;
        }
    }
    out
}

pub(super) async fn check_in_loop(agent: Arc<Agent>) {
    let mut backoff = Duration::from_secs(1);
    let mut down_since: Option<std::time::Instant> = None;
    loop {
        match check_in(&agent).await {
            Ok(after) => {
                if let Some(t) = down_since.take() {
                    tracing::info!(
                        after_secs = t.elapsed().as_secs(),
                        "the service answers again"
                    );
                }
                backoff = Duration::from_secs(1);
                tokio::time::sleep(after).await;
            }
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(error = %e, "checking in with the service failed; retrying with backoff");
                    down_since = Some(std::time::Instant::now());
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

async fn check_in(agent: &Agent) -> Result<Duration, String> {
    let state_dir = agent.state_dir.clone();
    let reports = tokio::task::spawn_blocking(move || pending_reports(&state_dir))
        .await
        .map_err(|e| e.to_string())?;
    let body = PollRequest {
        public_url: agent.public_url.clone(),
        cert_fingerprint: Some(agent.fingerprint.clone()),
        reports: reports.iter().map(|(_, r)| r.clone()).collect(),
    };
    let resp = agent
        .http
        .post(format!("{}{POLL_PATH}", agent.server))
        .basic_auth(agent.id, Some(agent.secret.expose()))
        .timeout(Duration::from_secs(20))
        .json(&body)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        let status = resp.status();
        // A refusal that says why (a public URL the data plane cannot use) is shown as such.
        let why = resp
            .json::<crate::wire::ErrorDoc>()
            .await
            .map(|d| format!(": {}", d.message))
            .unwrap_or_default();
        return Err(format!("the service answered {status}{why}"));
    }
    let answer: PollResponse = resp.json().await.map_err(|e| e.to_string())?;
    let key = URL_SAFE_NO_PAD
        .decode(answer.capability_key.trim())
        .map_err(|_| "the service sent an unreadable key".to_owned())?;
    let changed = agent.key() != Some(key.clone());
    if changed {
        if let Err(e) = save_key(&agent.state_dir, &answer.capability_key) {
            tracing::warn!(error = %e, "keeping the capability key in the state directory failed");
        }
        if let Ok(mut k) = agent.key.write() {
            *k = Some(key);
        }
        tracing::info!("checked in with the service; capability key received");
    }
    for (path, _) in reports.iter().take(answer.acknowledged) {
        let _ = std::fs::remove_file(path);
    }
    Ok(Duration::from_secs(answer.poll_after.clamp(1, 300)))
}
