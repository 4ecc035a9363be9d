#!/usr/bin/env python3
"""SciToken access tokens checked by the Python `scitokens` library itself, against the binary.

- A resource server chooses `access_token_format: scitoken` (`tessera admin client add
  --access-token-format scitoken`) and gives its scope a group rule through the API:
  members of the POSIX group `root` (as NSS sees it; the account `root` is in it on every host)
  get `read:/data` and `write:/home/{username}`. `[group_sources] local_domain = "example.org"`
  makes root@example.org the local account root.
- root@example.org approves a device grant (RFC 8628; the person is a requests.Session) and the
  device gets a SciToken.
- `scitokens.SciToken.deserialize(insecure=True)` fetches our discovery document and JWKS over
  plain http on loopback (the notes: `insecure=True` for an http issuer, a fresh
  XDG_CACHE_HOME so no stale or negative key-cache entry can decide the result).
- The `Enforcer` accepts paths inside the capabilities and refuses paths outside them, other
  authorizations and a wrong audience. The header `kid` is the RFC 7638 thumbprint of the key
  in our JWKS. nobody@example.org (not in `root`) is refused: the device hears access_denied.

Usage: TESSERA_BIN=target/release/tessera python3 tests/python/scitokens_check.py
"""

import base64
import hashlib
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import time

os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="scitokens-cache-")  # before the import

import requests  # noqa: E402
import scitokens  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PASSWORD = "a long enough password for the test"
BIN = os.environ.get("TESSERA_BIN", "target/release/tessera")


def tessera(args, data_dir, env, stdin=None):
    out = subprocess.run([BIN, *args, "--data-dir", data_dir], input=stdin, text=True,
                         check=True, capture_output=True, env=env)
    return json.loads(out.stdout) if out.stdout.strip() else None


def start(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    config = os.path.join(data_dir, "tessera.toml")
    with open(config, "w") as f:
        f.write('scitoken_lifetime = 600\n[group_sources]\nlocal_domain = "example.org"\n')
    for user in ("root@example.org", "nobody@example.org"):
        tessera(["admin", "user", "add", user, "--password-stdin"], data_dir, env, PASSWORD + "\n")
    storage = tessera(["admin", "client", "add", "--name", "storage", "--confidential",
                       "--access-token-format", "scitoken"], data_dir, env)
    assert storage["client"]["access_token_format"] == "scitoken", storage
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--config", config,
         "--registration", "open"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    line = proc.stdout.readline()
    url = re.search(r"http://\S+", line).group(0).rstrip("/")
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url, storage
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    assert m, f"no {name} in the page"
    return html.unescape(m.group(1))


def device_token(base, meta, cid, scope, user):
    """A device grant approved by `user`: the token response, or the OAuth error."""
    d = requests.post(meta["device_authorization_endpoint"],
                      data={"client_id": cid, "scope": scope}, timeout=10).json()
    b = requests.Session()
    page = b.get(d["verification_uri_complete"], timeout=10)
    page = b.post(base + "/v2/web/login", data={
        "csrf": hidden(page.text, "csrf"), "request": "", "next": hidden(page.text, "next"),
        "username": user, "password": PASSWORD,
    }, timeout=10)
    assert ">Allow</button>" in page.text, page.text
    b.post(base + "/v2/web/device", data={
        "csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"),
        "decision": "allow",
    }, timeout=10)
    r = requests.post(meta["token_endpoint"], data={
        "grant_type": GRANT, "device_code": d["device_code"], "client_id": cid}, timeout=10)
    return r.json()


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk):
    """RFC 7638: SHA-256 of the required members, sorted, without whitespace."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canonical.encode()).digest())


def main():
    checks = 0
    with tempfile.TemporaryDirectory() as d:
        proc, base, storage = start(d)
        try:
            meta = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
            assert meta["issuer"] == base, meta["issuer"]
            rs = storage["client_id"]
            auth = (rs, storage["client_secret"])
            r = requests.post(f"{base}/v2/api/clients/{rs}/scopes", auth=auth, json={"scope": {
                "name": "Storage", "description": "Files under /data and home", "scope_suffix": "files",
                "group_rule": {"groups": ["posix:root"],
                               "capabilities": ["read:/data", "write:/home/{username}"]}}}, timeout=10)
            assert r.status_code == 200, r.text
            scope = r.json()["scope"]["scope_string"]
            assert r.json()["scope"]["group_rule"]["groups"] == ["posix:root"]
            reg = requests.post(meta["registration_endpoint"], json={
                "client_name": "Python scitokens", "token_endpoint_auth_method": "none",
                "grant_types": [GRANT]}, timeout=10)
            assert reg.status_code == 201, reg.text
            cid = reg.json()["client_id"]
            checks += 1

            tok = device_token(base, meta, cid, scope, "root@example.org")
            assert "access_token" in tok, tok
            assert tok["expires_in"] == 600, tok
            token = tok["access_token"]
            header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
            assert header["alg"] in ("ES256", "RS256") and header["typ"] == "JWT", header
            jwks = requests.get(meta["jwks_uri"], timeout=10).json()
            key = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
            assert thumbprint(key) == header["kid"], "kid is the RFC 7638 thumbprint"
            checks += 1

            # The library fetches discovery and the JWKS itself (plain http: insecure=True).
            st = scitokens.SciToken.deserialize(token, insecure=True)
            assert st["ver"] == "scitoken:2.0" and st["wlcg.ver"] == "1.0", st
            assert st["iss"] == base and st["aud"] == rs, st
            assert st["wlcg.groups"] == ["/root"], st["wlcg.groups"]
            enf = scitokens.Enforcer(base, audience=rs)
            assert enf.test(st, "read", "/data/run1/file.root"), enf.last_failure
            assert enf.test(st, "write", "/home/root/out.txt"), enf.last_failure
            checks += 1
            assert not enf.test(st, "read", "/etc/passwd")
            assert not enf.test(st, "write", "/data/run1/file.root")
            assert not enf.test(st, "write", "/home/rootx/out.txt")
            assert not enf.test(st, "read", "/data/../etc/passwd")
            checks += 1
            wrong = scitokens.Enforcer(base, audience="https://other.example.org")
            assert not wrong.test(st, "read", "/data/file")
            other_issuer = scitokens.Enforcer(base + "/", audience=rs)
            assert not other_issuer.test(st, "read", "/data/file")
            assert sorted(enf.generate_acls(st)) == [("read", "/data"), ("write", "/home/root")]
            checks += 1

            # A tampered signature is refused by the library.
            bad = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
            try:
                scitokens.SciToken.deserialize(bad, insecure=True)
                raise AssertionError("a tampered SciToken was accepted")
            except Exception as e:  # noqa: BLE001 -- the library raises several kinds
                assert not isinstance(e, AssertionError), e
            checks += 1

            # nobody@example.org is not in the group: refused.
            refused = device_token(base, meta, cid, scope, "nobody@example.org")
            assert refused.get("error") == "access_denied", refused
            checks += 1
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"scitokens_check.py: {checks} checks passed (scitokens {scitokens.__version__ if hasattr(scitokens, '__version__') else ''})")


if __name__ == "__main__":
    sys.exit(main())
