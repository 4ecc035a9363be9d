//! Redirect-URI matching (tessera-core): the answer agrees with a reference written
//! differently (string surgery on the port instead of splitting the authority), and a
//! confidential client only ever gets exact matches. `local_path` only ever returns a path on
//! this site.

use tessera_core::client::{AccessTokenFormat, Client, ClientType, Links, Visibility};
use tessera_core::redirect::{allowed, local_path};
use uuid::Uuid;

const PAGE: &str = "https://auth.example.org/v2/web/auth-code";

/// `uri` with the port of an `http` loopback authority taken out, if it is one: the host,
/// then `:` and one to five digits or nothing, then the end, a `/` or a `?`.
fn without_port(uri: &str) -> Option<(&'static str, String)> {
    let rest = uri.strip_prefix("http://")?;
    for host in ["localhost", "127.0.0.1", "[::1]"] {
        let Some(after) = rest.strip_prefix(host) else {
            continue;
        };
        let digits = after
            .strip_prefix(':')
            .map(|p| p.bytes().take_while(u8::is_ascii_digit).count());
        let tail = match digits {
            Some(n) if (1..=5).contains(&n) => &after[1 + n..],
            Some(_) => return None,
            None => after,
        };
        if tail.is_empty() || tail.starts_with(['/', '?']) {
            return Some((host, format!("http://{host}{tail}")));
        }
        return None;
    }
    None
}

fn reference(registered: &[String], native: bool, requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    if !native {
        return false;
    }
    if requested == PAGE {
        return true;
    }
    let Some((host, bare)) = without_port(requested) else {
        return false;
    };
    if host != "[::1]" && (bare == format!("http://{host}") || bare == format!("http://{host}/")) {
        return true;
    }
    registered
        .iter()
        .any(|r| without_port(r).is_some_and(|(_, b)| b == bare))
}

fn client(redirect_uris: Vec<String>, client_type: ClientType) -> Client {
    Client {
        id: Uuid::from_u128(1),
        name: "fuzz".into(),
        client_type,
        visibility: Visibility::Private,
        redirect_uris,
        fqdns: vec![],
        links: Links::default(),
        parent_client: None,
        project: None,
        required_idp: None,
        preselect_idp: None,
        allows_templating: false,
        authentication_policy: None,
        userinfo_from_effective_identity: true,
        resource_server_name: None,
        access_token_format: AccessTokenFormat::default(),
        created_at: 0,
    }
}

/// Input: a flags byte (bit 0: native), then the requested URI and up to eight registered
/// ones, one per line.
pub fn redirect(data: &[u8]) {
    let Some((flags, rest)) = crate::split_mode(data) else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut lines = text.split('\n');
    let requested = lines.next().unwrap_or_default();
    let registered: Vec<String> = lines.take(8).map(str::to_owned).collect();
    let native = flags & 1 == 1;
    let client_type = if native {
        ClientType::PublicInstalled
    } else {
        ClientType::Confidential
    };
    let c = client(registered.clone(), client_type);
    let got = allowed(&c, native, requested, PAGE);
    assert_eq!(
        got,
        reference(&registered, native, requested),
        "allowed(native: {native}, {requested:?}) with {registered:?}"
    );
    if let Some(path) = local_path(requested) {
        assert_eq!(path, requested);
        let b = path.as_bytes();
        assert_eq!(b.first(), Some(&b'/'));
        assert!(!matches!(b.get(1), Some(b'/' | b'\\')), "{path:?}");
        assert!(
            b.iter()
                .all(|c| c.is_ascii_graphic() && *c != b'\\' && *c != b'#'),
            "{path:?}"
        );
    }
}
