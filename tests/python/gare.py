#!/usr/bin/env python3
"""A tessera-guard 403 read by the real Globus SDK as a Globus Auth Requirements Error.

The body comes from a real exchange: `cargo test -p tessera-guard --test policies` runs a
resource server guarded with a 30-minute high-assurance + MFA policy against a real Tessera on
127.0.0.1, calls it with a password-only session's token and writes the 403 body to
`TESSERA_GARE_OUT` (or pass a saved body as the first argument).

Then, with unchanged `globus-sdk`:
- `GlobusAPIError` over the 403 response, `globus_sdk.gare.to_gare` → a `GARE` whose
  `authorization_parameters` (`GlobusAuthorizationParameters`) name the policy, MFA, the
  message and `prompt=login`;
- `NativeAppAuthClient.oauth2_get_authorize_url(**those parameters)` → the authorize URL a
  `globus session update` would open, with `session_required_policies`,
  `session_required_mfa=True` and `prompt=login` in its query.

Usage: python3 tests/python/gare.py [saved-403-body.json]
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import uuid

import globus_sdk
import requests
from globus_sdk import gare


def body_from_the_guard():
    if len(sys.argv) > 1:
        with open(sys.argv[1]) as f:
            return f.read()
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "gare.json")
        env = dict(os.environ, TESSERA_GARE_OUT=out)
        subprocess.run(
            ["cargo", "test", "--quiet", "-p", "tessera-guard", "--test", "policies"],
            check=True, env=env, stdout=subprocess.DEVNULL,
        )
        with open(out) as f:
            return f.read()


def as_response(body):
    r = requests.Response()
    r.status_code = 403
    r._content = body.encode()
    r.headers["Content-Type"] = "application/json"
    r.url = "http://127.0.0.1/data"
    r.request = requests.Request("GET", r.url).prepare()
    return r


def main():
    body = body_from_the_guard()
    doc = json.loads(body)
    policy = doc["authorization_parameters"]["session_required_policies"][0]
    uuid.UUID(policy)

    err = globus_sdk.GlobusAPIError(as_response(body))
    assert err.http_status == 403
    found = gare.to_gare(err)
    assert found is not None, f"the SDK did not see a GARE in {body}"
    assert found.code == "AuthorizationRequired", found.code
    p = found.authorization_parameters
    assert p.session_required_policies == [policy], p.session_required_policies
    assert p.session_required_mfa is True, p.session_required_mfa
    assert p.prompt == "login", p.prompt
    assert "30 minutes" in p.session_message, p.session_message
    assert gare.is_gare(doc) and gare.has_gares([err])

    # What `globus session update` does with them: an authorize URL that asks for them.
    client = globus_sdk.NativeAppAuthClient(client_id=str(uuid.uuid4()))
    client.oauth2_start_flow(requested_scopes="openid")
    url = client.oauth2_get_authorize_url(
        session_required_policies=p.session_required_policies,
        session_required_mfa=p.session_required_mfa,
        session_message=p.session_message,
        prompt=p.prompt,
    )
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    assert q["session_required_policies"] == policy, q
    assert q["session_required_mfa"] == "True", q
    assert q["prompt"] == "login", q
    print(f"ok: globus-sdk {globus_sdk.__version__} read the 403 as {found.code} for policy {policy}")


if __name__ == "__main__":
    main()
