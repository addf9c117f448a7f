"""Network faults through Toxiproxy: running `toxiproxy-server` on loopback for a run, and its HTTP API (a proxy
in front of the server, toxics added and removed).

Toxiproxy (github.com/Shopify/toxiproxy) is a Go program; finding it is servers/binaries.py's, building it
(`test-rig sandbox build-toxiproxy`) servers/toxiproxy_build.py's.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from test_rig.errors import RigError, UsageError
from test_rig.servers import binaries
from test_rig.servers.binaries import TOXIPROXY_VERSION
from test_rig.servers.toxiproxy_build import TOXIPROXY_MODULE

HOW_TO_GET = ("install it with `test-rig sandbox build-toxiproxy` (needs Go 1.23+; builds "
              f"{TOXIPROXY_MODULE}@{TOXIPROXY_VERSION}), put a `toxiproxy-server` on PATH or set "
              "TOXIPROXY_SERVER_BIN, or give a running one with --toxiproxy URL")


class ToxiproxyError(RigError):
    """The Toxiproxy API refused a request or did not answer."""


@dataclass
class Toxiproxy:
    """A Toxiproxy API at `url`; `process` is set when this run started the server itself."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    proxies: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace").strip()
            raise ToxiproxyError(f"Toxiproxy at {self.url} refused {method} {path}: {e.code} {detail[:200]}") from None
        except (urllib.error.URLError, OSError) as e:
            raise ToxiproxyError(f"Toxiproxy at {self.url} did not answer {method} {path} "
                                 f"({getattr(e, 'reason', e)}).") from None
        return json.loads(raw) if raw.strip() else None

    def version(self) -> str:
        req = urllib.request.Request(self.url + "/version")
        with urllib.request.urlopen(req, timeout=2) as resp:
            return str(resp.read().decode().strip())

    def create_proxy(self, name: str, upstream: str) -> tuple[str, int]:
        """A proxy on a free loopback port in front of `upstream` (host:port); returns its (host, port)."""
        got = self.request("POST", "/proxies", {"name": name, "listen": "127.0.0.1:0", "upstream": upstream,
                                                "enabled": True})
        self.proxies.append(name)
        host, _, port = str(got["listen"]).rpartition(":")
        return host or "127.0.0.1", int(port)

    def add_toxic(self, proxy: str, name: str, kind: str, attributes: dict[str, Any],
                  stream: str = "downstream") -> None:
        self.request("POST", f"/proxies/{proxy}/toxics", {"name": name, "type": kind, "stream": stream,
                                                          "toxicity": 1.0, "attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        self.request("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def close(self) -> None:
        """Delete the proxies this run made and stop the server if this run started it."""
        for name in self.proxies:
            with contextlib.suppress(ToxiproxyError):
                self.request("DELETE", f"/proxies/{name}")
        self.proxies.clear()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def connect_toxiproxy(url: str | None) -> Toxiproxy:
    """The Toxiproxy to use: the one at `url` (it must answer), else a toxiproxy-server this run starts on a
    free loopback port. Raises UsageError saying how to get Toxiproxy when there is none."""
    if url:
        proxy = Toxiproxy(url.rstrip("/"))
        try:
            proxy.version()
        except (urllib.error.URLError, OSError, ValueError):
            raise UsageError(f"Nothing answers as Toxiproxy at {url}; start it (toxiproxy-server) or leave out "
                             "--toxiproxy to let test-rig start one.") from None
        return proxy
    binary = binaries.find("toxiproxy-server")
    if binary is None:
        raise UsageError(f"The network nemesis kinds need Toxiproxy and none was found; {HOW_TO_GET}.")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen([str(binary), "-host", "127.0.0.1", "-port", str(port)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    proxy = Toxiproxy(f"http://127.0.0.1:{port}", proc)
    deadline = time.monotonic() + 15
    while True:
        try:
            proxy.version()
            return proxy
        except (urllib.error.URLError, OSError, ValueError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proxy.close()
                raise RigError(f"toxiproxy-server ({binary}) did not start on 127.0.0.1:{port}.") from None
            time.sleep(0.05)
