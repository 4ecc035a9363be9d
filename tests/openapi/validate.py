#!/usr/bin/env python3
"""Validates the OpenAPI document a real `tessera serve` publishes at /openapi.json against the
OpenAPI 3.1 specification (openapi-spec-validator), independently of the Rust types that made it.

    TESSERA_BIN=target/release/tessera python3 tests/openapi/validate.py
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from openapi_spec_validator import validate
from openapi_spec_validator.versions import consts as versions
from openapi_spec_validator.versions.shortcuts import get_spec_version


def main() -> int:
    binary = os.environ.get("TESSERA_BIN", "target/release/tessera")
    with tempfile.TemporaryDirectory() as data:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        server = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            text=True,
        )
        try:
            line = server.stdout.readline()
            url = next(w for w in line.split() if w.startswith("http://"))
            with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as r:
                doc = json.load(r)
        finally:
            server.terminate()
            server.wait(timeout=10)
    version = get_spec_version(doc)
    if version != versions.OPENAPIV31:
        print(f"FAIL: the document is {version}, not OpenAPI 3.1")
        return 1
    validate(doc)
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    operations = sum(1 for item in doc["paths"].values() for m in item if m in methods)
    print(f"OK: OpenAPI {doc['openapi']}, {len(doc['paths'])} paths, {operations} operations, valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
