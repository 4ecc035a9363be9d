//! Which redirect URIs a client may use (RFC 6749 §3.1.2, RFC 9700 §2.1, RFC 8252 §7.3).
//!
//! Matching is exact. The only variation allowed is the port of a loopback redirect of a native
//! client (and of a template instance, which stands for the native CLI): the operating system
//! picks that port at run time. The Globus native flows also use this server's own
//! `/v2/web/auth-code` page and `http://localhost:<port>` / `http://127.0.0.1:<port>` without
//! registering them (spec §2.1).

use crate::client::Client;

/// `uri` as (scheme, host, port, rest) when it is an `http` loopback URI.
fn loopback_parts(uri: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let (host, port) = if let Some(h) = authority.strip_prefix("[::1]") {
        // Only a port may follow the address: `[::1]88:00` is not the loopback address.
        match h {
            "" => ("[::1]", None),
            _ => ("[::1]", Some(h.strip_prefix(':')?)),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
        return None;
    }
    if port.is_some_and(|p| p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some((host, port, path))
}

/// Whether `client` may be sent to `requested`. `native_like`: the client is native or a
/// template instance; `auth_code_page`: this server's `/v2/web/auth-code` URL.
pub fn allowed(client: &Client, native_like: bool, requested: &str, auth_code_page: &str) -> bool {
    if client.redirect_uris.iter().any(|r| r == requested) {
        return true;
    }
    if !native_like {
        return false;
    }
    if requested == auth_code_page {
        return true;
    }
    let Some((host, _port, path)) = loopback_parts(requested) else {
        return false;
    };
    // Globus lets native clients use the loopback root on any port without registering it.
    if matches!(host, "localhost" | "127.0.0.1") && (path.is_empty() || path == "/") {
        return true;
    }
    // RFC 8252 §7.3: a registered loopback redirect matches on any port, everything else exact.
    client.redirect_uris.iter().any(|registered| {
        loopback_parts(registered).is_some_and(|(h, _, p)| h == host && p == path)
    })
}

/// The longest `next` accepted.
const MAX_LOCAL_PATH: usize = 2048;

/// `next` if it is a path on this site, to return a person to after signing in or acting on a
/// page: one leading `/` (not `//` nor `/\`, which browsers read as another host), visible
/// ASCII only (no spaces, controls or `\`, which browsers treat as `/`), no fragment. Anything
/// else, a full URL included, is refused: the site must not redirect elsewhere on a link's
/// say-so (an open redirector).
pub fn local_path(next: &str) -> Option<&str> {
    let b = next.as_bytes();
    let ok = (1..=MAX_LOCAL_PATH).contains(&b.len())
        && b[0] == b'/'
        && !matches!(b.get(1), Some(b'/' | b'\\'))
        && b.iter()
            .all(|c| c.is_ascii_graphic() && !matches!(c, b'\\' | b'#'));
    ok.then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::{ClientType, Links, Visibility};
    use uuid::Uuid;

    fn client(uris: &[&str], client_type: ClientType) -> Client {
        Client {
            id: Uuid::from_u128(1),
            name: "c".into(),
            client_type,
            visibility: Visibility::Private,
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
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
            access_token_format: Default::default(),
            created_at: 0,
        }
    }

    const PAGE: &str = "https://auth.example.org/v2/web/auth-code";

    #[test]
    fn confidential_clients_match_exactly() {
        let c = client(&["https://portal.example.org/cb"], ClientType::Confidential);
        assert!(allowed(&c, false, "https://portal.example.org/cb", PAGE));
        for bad in [
            "https://portal.example.org/cb/",
            "https://portal.example.org/cb?x=1",
            "https://portal.example.org/cbx",
            "https://portal.example.org.evil.example/cb",
            "HTTPS://portal.example.org/cb",
            PAGE,
            "http://localhost:8080/",
        ] {
            assert!(!allowed(&c, false, bad, PAGE), "{bad}");
        }
    }

    #[test]
    fn redirect_uri_prefix_is_not_a_match() {
        let c = client(&["https://portal.example.org/"], ClientType::Confidential);
        assert!(!allowed(&c, false, "https://portal.example.org/evil", PAGE));
    }

    #[test]
    fn native_clients_may_use_the_code_page_and_loopback_on_any_port() {
        let c = client(&["http://127.0.0.1/callback"], ClientType::PublicInstalled);
        assert!(allowed(&c, true, PAGE, PAGE));
        assert!(allowed(&c, true, "http://localhost:51234", PAGE));
        assert!(allowed(&c, true, "http://127.0.0.1:51234/", PAGE));
        assert!(
            allowed(&c, true, "http://127.0.0.1:4000/callback", PAGE),
            "registered path, other port"
        );
        for bad in [
            "http://127.0.0.1:4000/other",
            "http://localhost.evil.example:80/",
            "http://127.0.0.1.evil.example/",
            "http://127.0.0.1:99999999/",
            "https://evil.example/cb",
            "http://localhost:80@evil.example/",
        ] {
            assert!(!allowed(&c, true, bad, PAGE), "{bad}");
        }
    }

    #[test]
    fn only_a_port_may_follow_the_ipv6_loopback_address() {
        // Found by the `redirect` fuzz target: `[::1]` followed by anything but `:port` was
        // read as the loopback address, so this matched the registered `http://[::1]/cb`.
        let c = client(&["http://[::1]/cb"], ClientType::PublicInstalled);
        assert!(allowed(&c, true, "http://[::1]:4000/cb", PAGE));
        assert!(allowed(&c, true, "http://[::1]/cb", PAGE));
        for bad in [
            "http://[::1]88:00/cb",
            "http://[::1]x/cb",
            "http://[::1].evil.example/cb",
            "http://[::1]@evil.example/cb",
            "http://[::1]:/cb",
        ] {
            assert!(!allowed(&c, true, bad, PAGE), "{bad}");
        }
    }

    #[test]
    fn only_native_clients_get_port_variance() {
        let c = client(&["http://127.0.0.1:8000/cb"], ClientType::Confidential);
        assert!(allowed(&c, false, "http://127.0.0.1:8000/cb", PAGE));
        assert!(!allowed(&c, false, "http://127.0.0.1:8001/cb", PAGE));
    }

    #[test]
    fn next_is_only_ever_a_path_on_this_site() {
        for ok in [
            "/",
            "/v2/web/account",
            "/v2/web/account?x=1&y=%2F%2F",
            "/..//evil.example",
            "/%2F%2Fevil.example",
        ] {
            assert_eq!(local_path(ok), Some(ok), "{ok}");
        }
        let long = format!("/{}", "a".repeat(MAX_LOCAL_PATH));
        for bad in [
            "",
            "v2/web/account",
            "//evil.example",
            "//evil.example/",
            "/\\evil.example",
            "\\/evil.example",
            "/\\/evil.example",
            "https://evil.example/",
            "http:/evil.example",
            "javascript:alert(1)",
            " /v2",
            "/v2 x",
            "/v2\tx",
            "/v2\r\nLocation: https://evil.example",
            "/a\\b",
            "/a#b",
            "/caf\u{e9}",
            long.as_str(),
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
