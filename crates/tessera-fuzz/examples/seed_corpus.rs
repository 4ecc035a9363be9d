//! Writes the hand-made seed inputs into `fuzz/corpus/<target>/seed-*` (run once before the
//! first fuzzing run: `cargo run -p tessera-fuzz --example seed_corpus`). The fuzzers grow the
//! corpora from these; `cargo fuzz cmin` then keeps what adds coverage.

use std::path::PathBuf;
use tessera_core::random::SeededRandom;
use tessera_core::token::TokenKind;

fn with_mode(mode: u8, rest: &[u8]) -> Vec<u8> {
    let mut v = vec![mode];
    v.extend_from_slice(rest);
    v
}

fn main() -> std::io::Result<()> {
    let mut seeds: Vec<(&str, Vec<u8>)> = Vec::new();
    for s in [
        "openid",
        "openid profile email",
        "root[dep1 *dep2[sub]] other",
        "urn:globus:auth:scope:transfer.api.globus.org:all[*https://auth.globus.org/scopes/c/data_access]",
        "a[b[c[d[e[f[g[h[i]]]]]]]]",
        "*x",
        "a[",
        "a]]",
        "a[]",
        "x[**y]",
    ] {
        seeds.push(("scope", s.into()));
    }
    for s in [
        "\x01http://127.0.0.1:4000/callback\nhttp://127.0.0.1/callback",
        "\x00https://portal.example.org/cb\nhttps://portal.example.org/cb",
        "\x01http://[::1]:8080/cb\nhttp://[::1]/cb",
        "\x01http://localhost:51234",
        "\x01http://localhost:80@evil.example/\nhttp://localhost/",
        "\x01https://auth.example.org/v2/web/auth-code",
        "\x00/v2/web/account?x=1",
    ] {
        seeds.push(("redirect", s.into()));
    }
    for s in [
        "grant_type=authorization_code&code=tac_x&redirect_uri=https%3A%2F%2Fx%2Fcb&code_verifier=abc",
        "grant_type=refresh_token&refresh_token=trt_x&scope=openid+email",
        "a=1&a=2",
        "client_id=&x=%zz&y=%C3%A9",
    ] {
        seeds.push(("oauth_form", s.into()));
    }
    for s in [
        "\x00Bearer tat_abc",
        "\x00bearer   x  ",
        "\x00Basic aWQ6c2VjcmV0",
        "\x00Basic !!",
        "\x01id\nsecret",
        "\x010b5c1f36-6d0a-4d7b-9c2a-2f2e5f1c7a10\ntcs_abc.def-1~ x:y",
        "\x02id:a%2Fb",
        "\x02i%d:100%",
    ] {
        seeds.push(("auth_header", s.into()));
    }
    let rng = SeededRandom::new(5);
    for kind in TokenKind::ALL {
        let (t, _) = kind.generate(&rng);
        seeds.push(("token", with_mode(0, t.expose().as_bytes())));
        if kind.has_selector() {
            let (t, _) = kind.generate_selected(&rng, 1_800_000_000 << 20);
            seeds.push(("token", with_mode(0, t.expose().as_bytes())));
        }
    }
    seeds.push(("token", with_mode(1, b"0123456789abcdef")));
    seeds.push((
        "jwt",
        with_mode(
            0,
            br#"{"keys":[{"kty":"OKP","alg":"EdDSA","use":"sig","kid":"k1","crv":"Ed25519","x":"AsDHG2uItyld9zutbxBeaQA_gQuofUtq7WKeX-g0Avw"},{"kty":"EC","alg":"ES256","kid":"k2","crv":"P-256","x":"AA","y":"AA"},{"kty":"RSA","alg":"RS256","kid":"k3","n":"AQAB","e":"AQAB","use":"enc"}]}"#,
        ),
    ));
    for t in tessera_fuzz::valid_jwts() {
        seeds.push(("jwt", with_mode(1, t.as_bytes())));
    }
    seeds.push(("jwt", with_mode(2, b"\x00\x10A")));
    for s in [
        "listen = \"127.0.0.1:8421\"\npublic_url = \"https://auth.example.org\"\naccess_token_lifetime = 3600\nlog_format = \"json\"\nmax_body_bytes = 65536\nid_token_algorithm = \"RS256\"\n",
        "database_url = \"postgres://postgres@127.0.0.1/test\"\naccess_token_algorithm = \"EdDSA\"\nkey_rotation_interval = 0\naudit_retention = 86400\n",
        "refresh_token_idle_lifetime = 7200\nrefresh_token_reuse_grace = 30\ndns_resolver = \"192.0.2.53\"\ncleanup_interval = 60\nmetrics_listen = \"127.0.0.1:9421\"\n",
        "admin_usernames = [\"alice@example.org\", \" \"]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\ndata_dir = \"x\"\n",
        "unknown = 1\n",
    ] {
        seeds.push(("settings", s.into()));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    for (i, (target, data)) in seeds.iter().enumerate() {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("seed-{i:03}")), data)?;
    }
    println!("{} seeds written under {}", seeds.len(), root.display());
    Ok(())
}
