"""A sandbox's port is chosen below the kernel's ephemeral range (servers/sandbox.free_port)."""

from __future__ import annotations

import socket

from test_rig.servers.sandbox import _ephemeral_ports, free_port, port_is_free


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
