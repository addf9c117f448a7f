"""TLS against a sandbox that serves it with a private CA: each ssl_mode does what it says."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.errors import TlsError
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import run_cli


def cipher(target: Target) -> str:
    async def q() -> str:
        conn = await connect(target)
        try:
            return str((await conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'"))[0][1])
        finally:
            await conn.close()

    return asyncio.run(q())


def t(state: SandboxState, mode: str, ca: str | None, host: str | None = None) -> Target:
    return Target("t", host or state.host, state.port, "root", "", "test", 5, ssl_mode=mode, ssl_ca=ca)


def test_verify_identity_with_the_sandbox_ca(tls_box: SandboxState) -> None:
    assert tls_box.ssl_ca is not None
    assert cipher(t(tls_box, "verify-identity", tls_box.ssl_ca)).startswith("TLS_")
    assert cipher(t(tls_box, "verify-identity", tls_box.ssl_ca, host="localhost")).startswith("TLS_")
    assert cipher(t(tls_box, "required", None)).startswith("TLS_")
    assert cipher(t(tls_box, "disabled", None)) == ""


def test_wrong_ca_is_a_tls_error_without_retry(tls_box: SandboxState, tmp_path: Path) -> None:
    import subprocess

    other = tmp_path / "other-ca.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout",
                    str(tmp_path / "k.pem"), "-out", str(other), "-subj", "/CN=other"], check=True, capture_output=True)
    with pytest.raises(TlsError) as info:
        cipher(t(tls_box, "verify-ca", str(other)))
    assert info.value.code == 2026
    assert "CERTIFICATE_VERIFY_FAILED" in info.value.message
    env = {"PATH": "/usr/bin:/bin", "TIDB_HOST": f"127.0.0.1:{tls_box.port}", "TIDB_SSL_MODE": "verify-ca",
           "TIDB_SSL_CA": str(other)}
    r = run_cli("basic", "--no-password-prompt", env=env)
    assert r.returncode == 1
    assert "(2026) TLS to 127.0.0.1" in r.stdout
    assert "hint: TLS failed: check database.ssl_mode and ssl_ca" in r.stdout
    assert "retry" not in r.stderr


def test_required_against_a_plain_server_fails_and_preferred_falls_back(sandbox: SandboxState) -> None:
    with pytest.raises(TlsError):
        cipher(t(sandbox, "required", None))
    assert cipher(t(sandbox, "preferred", None)) == ""


def test_sandbox_env_points_at_tls(tls_box: SandboxState) -> None:
    box = Sandbox(Path(tls_box.datadir).parent)
    assert box.env_lines()[-2:] == ["export TIDB_SSL_MODE=verify-identity", f"export TIDB_SSL_CA={tls_box.ssl_ca}"]
