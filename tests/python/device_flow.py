#!/usr/bin/env python3
"""The RFC 8628 device flow with unchanged Python clients, against the release binary.

- A public client registers itself (RFC 7591) with plain `requests`, as the federation notes
  say a Python client does (authlib has only the server side of registration).
- authlib 1.9 `OAuth2Session`: the device authorization request (`withhold_token=True`), then
  `fetch_token` with the device_code grant, which raises `OAuthError` on
  `authorization_pending` until a person approves.
- requests-oauthlib 2.0 with oauthlib's `DeviceClient`: the same, for a second grant; a
  denial raises `access_denied`.
- The person is a `requests.Session` that signs in and approves on the verification page
  (`verification_uri_complete`), as a browser would (the page works without JavaScript).

Usage: TESSERA_BIN=target/release/tessera python3 tests/python/device_flow.py
"""

import html
import os
import re
import subprocess
import sys
import tempfile
import time

import requests

os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on loopback

from authlib.integrations.base_client.errors import OAuthError  # noqa: E402
from authlib.integrations.requests_client import OAuth2Session  # noqa: E402
from oauthlib.oauth2 import DeviceClient  # noqa: E402
from requests_oauthlib import OAuth2Session as OAuthlibSession  # noqa: E402

GRANT = "urn:ietf:params:oauth:grant-type:device_code"
USER = "alice@example.org"
PASSWORD = "a long enough password for alice"
BIN = os.environ.get("TESSERA_BIN", "target/release/tessera")


def start(data_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
    subprocess.run(
        [BIN, "admin", "user", "add", USER, "--password-stdin", "--data-dir", data_dir],
        input=PASSWORD + "\n", text=True, check=True, capture_output=True, env=env,
    )
    proc = subprocess.Popen(
        [BIN, "serve", "--listen", "127.0.0.1:0", "--data-dir", data_dir, "--registration", "open"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    line = proc.stdout.readline()
    url = re.search(r"http://\S+", line).group(0).rstrip("/")
    for _ in range(100):
        try:
            if requests.get(url + "/healthz", timeout=2).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise SystemExit("the server did not become healthy")


def hidden(page, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), page)
    assert m, f"no {name} in the page"
    return html.unescape(m.group(1))


def person_decides(base, uri_complete, decision):
    """Signs in at the verification page and allows or denies."""
    b = requests.Session()
    page = b.get(uri_complete, timeout=10)
    assert "Sign in" in page.text, page.text
    page = b.post(base + "/v2/web/login", data={
        "csrf": hidden(page.text, "csrf"), "request": "", "next": hidden(page.text, "next"),
        "username": USER, "password": PASSWORD,
    }, timeout=10)
    assert ">Allow</button>" in page.text, page.text
    done = b.post(base + "/v2/web/device", data={
        "csrf": hidden(page.text, "csrf"), "request": hidden(page.text, "request"),
        "decision": decision,
    }, timeout=10)
    assert done.status_code == 200, done.text
    return done.text


def main():
    checks = 0
    with tempfile.TemporaryDirectory() as d:
        proc, base = start(d)
        try:
            meta = requests.get(base + "/.well-known/openid-configuration", timeout=10).json()
            device_ep = meta["device_authorization_endpoint"]
            token_ep = meta["token_endpoint"]
            reg = requests.post(meta["registration_endpoint"], json={
                "client_name": "Python device", "token_endpoint_auth_method": "none",
                "grant_types": [GRANT, "refresh_token"]}, timeout=10)
            assert reg.status_code == 201, reg.text
            cid = reg.json()["client_id"]
            checks += 1

            # authlib, as the federation notes call it.
            s = OAuth2Session(client_id=cid, scope="openid email")
            d1 = s.post(device_ep, data={"client_id": cid, "scope": "openid email"},
                        withhold_token=True).json()
            assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", d1["user_code"])
            try:
                s.fetch_token(token_ep, grant_type=GRANT, device_code=d1["device_code"])
                raise AssertionError("tokens before approval")
            except OAuthError as e:
                assert e.error == "authorization_pending", e.error
            checks += 1
            assert "Device connected" in person_decides(base, d1["verification_uri_complete"], "allow")
            time.sleep(d1["interval"])
            tok = s.fetch_token(token_ep, grant_type=GRANT, device_code=d1["device_code"])
            assert tok["access_token"] and tok["refresh_token"] and tok["id_token"], tok
            checks += 1
            try:
                s.fetch_token(token_ep, grant_type=GRANT, device_code=d1["device_code"])
                raise AssertionError("a device code redeemed twice")
            except OAuthError as e:
                assert e.error == "invalid_grant", e.error
            checks += 1

            # requests-oauthlib with oauthlib's DeviceClient; this time the person says no.
            d2 = requests.post(device_ep, data={"client_id": cid, "scope": "openid"}, timeout=10).json()
            o = OAuthlibSession(client=DeviceClient(client_id=cid))
            assert "Device refused" in person_decides(base, d2["verification_uri_complete"], "deny")
            try:
                o.fetch_token(token_ep, device_code=d2["device_code"], include_client_id=True)
                raise AssertionError("tokens after a denial")
            except Exception as e:  # oauthlib raises AccessDeniedError
                assert getattr(e, "error", "") == "access_denied", repr(e)
            checks += 1

            # And an approval for requests-oauthlib.
            d3 = requests.post(device_ep, data={"client_id": cid, "scope": "openid"}, timeout=10).json()
            person_decides(base, d3["verification_uri_complete"], "allow")
            tok = o.fetch_token(token_ep, device_code=d3["device_code"], include_client_id=True)
            assert tok["access_token"], tok
            checks += 1
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"device_flow.py: {checks} checks passed (authlib, requests-oauthlib)")


if __name__ == "__main__":
    sys.exit(main())
