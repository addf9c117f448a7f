"""A sandbox's port is chosen below the kernel's ephemeral range (servers/sandbox.free_port)."""

from __future__ import annotations

import socket
from pathlib import Path

from test_rig.servers.sandbox import _ephemeral_ports, _last_error, free_port, port_is_free


def test_a_free_port_is_below_the_ephemeral_range_and_free() -> None:
    low, high = _ephemeral_ports()
    assert 1024 < low <= high
    ports = {free_port() for _ in range(20)}
    assert all(1025 <= p < low and p != 3306 for p in ports)
    assert all(port_is_free(p) for p in ports)


def test_a_listening_port_is_not_free() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", free_port()))
        s.listen()
        assert port_is_free(s.getsockname()[1]) is False


def test_a_failed_start_names_the_servers_last_error_line(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("2026-12-02 19:50:01 0 [Note] Starting MariaDB 10.11.19-MariaDB-0+deb12u1 source revision\n"
                   "2026-12-02 19:50:01 0 [ERROR] InnoDB: Unable to lock ./ibdata1 error: 11\n"
                   "2026-12-02 19:50:02 0 [ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address "
                   "already in use\n2026-12-02 19:50:02 0 [ERROR] Aborting\n")
    assert _last_error(log) == ("2026-12-02 19:50:02 0 [ERROR] Can't start server: Bind on TCP/IP port. Got error: "
                                "98: Address already in use")
    log.write_text('[2026/12/02 19:50:01.000 +00:00] [FATAL] [main.go:887] ["failed to create the server"] '
                   '[error="listen tcp 127.0.0.1:4000: bind: address already in use"]\n')
    assert _last_error(log).startswith("[2026/12/02 19:50:01.000 +00:00] [FATAL] [main.go:887]")
    log.write_text("2026-12-02 19:50:01 0 [Note] nothing went wrong\n")
    assert _last_error(log) == ""
    assert _last_error(tmp_path / "absent.log") == ""
