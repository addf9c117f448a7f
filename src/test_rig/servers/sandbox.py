"""The local throwaway server: a private MariaDB, MySQL or TiDB on a free loopback port.

It never touches a system-wide service: it has its own data directory, socket and port, binds to
127.0.0.1 only (TiDB's status port too) and is started with --no-defaults so no my.cnf is read.
Several sandboxes run side by side, each in its own directory (`--name`).

Start, wait-ready and stop are written here rather than taken from mirakuru: readiness must prove
that the server answering on the port is the process just started (a port taken by another server
answers too), and fault tests need SIGKILL and a restart on the same data and port.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from test_rig.errors import RigError, UsageError
from test_rig.servers import binaries

STATE_FILE = "sandbox.json"


#: What `--server` accepts: the server kind or its binary's name.
SERVER_ALIASES = {"mariadb": "mariadbd", "mariadbd": "mariadbd", "mysql": "mysqld", "mysqld": "mysqld",
                  "tidb": "tidb-server", "tidb-server": "tidb-server"}


def default_dir(name: str | None = None) -> Path:
    env = os.environ.get("TEST_RIG_SANDBOX_DIR")
    if env and name is None:
        return Path(env)
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return base / "test-rig" / ("sandbox" if name is None else f"sandbox-{name}")


def registry_dir() -> Path:
    """Where every started sandbox leaves a note of its directory, by port, so that one started with `--dir`
    anywhere is found by its address (the nemesis's kill and pause)."""
    return default_dir("any").parent / "running"


def _register(directory: Path, port: int) -> None:
    try:
        registry_dir().mkdir(parents=True, exist_ok=True)
        (registry_dir() / str(port)).write_text(str(directory.resolve()))
    except OSError:
        pass  # a read-only home: the sandbox still runs, it is only not found by its port


def registered(port: int) -> Path | None:
    """The directory of the sandbox last started on `port`, if one left its note."""
    try:
        return Path((registry_dir() / str(port)).read_text().strip())
    except OSError:
        return None


def find_sandbox(host: str, port: int) -> Sandbox | None:
    """The running sandbox on this machine that serves host:port, or None: the one whose note the registry holds
    for `port` (a sandbox started with `--dir` anywhere), TEST_RIG_SANDBOX_DIR, and the sandboxes in the user's
    state directory (named ones too)."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        return None
    candidates: list[Path] = []
    noted = registered(port)
    if noted is not None:
        candidates.append(noted)
    env = os.environ.get("TEST_RIG_SANDBOX_DIR")
    if env:
        candidates.append(Path(env))
    parent = default_dir("any").parent  # the user's test-rig state directory, where every named sandbox lives
    if parent.is_dir():
        candidates += sorted(p for p in parent.iterdir() if p.name.startswith("sandbox"))
    for directory in candidates:
        box = Sandbox(directory)
        st = box.state()
        if st is not None and st.port == port and box.running() is not None:
            return box
    return None


def serving(port: int) -> Sandbox:
    """The running sandbox that serves 127.0.0.1:`port`, wherever its directory (find_sandbox). Raises UsageError
    when none does."""
    found = find_sandbox("127.0.0.1", port)
    if found is None:
        raise UsageError(f"No sandbox is running on 127.0.0.1:{port}; `test-rig sandbox status` shows the default "
                         "one, or start one with --port.")
    return found


def find_server(preferred: str | None = None, *, may_build: bool = True) -> tuple[str, Path]:
    """Return (binary name, path) of the server to start: `preferred` (a kind or binary name), else
    the first of mariadbd, mysqld found. For TiDB: TIDB_SERVER_BIN, PATH, the build cache, else a
    build from the Go module proxy (once per machine) when `may_build`."""
    if preferred is not None and preferred not in SERVER_ALIASES:
        raise UsageError(f"Unknown server {preferred!r}; use one of mariadb, mysql, tidb.")
    wanted = SERVER_ALIASES.get(preferred or "")
    if wanted == "tidb-server":
        found_tidb = binaries.find("tidb-server")
        if found_tidb is None:
            if not may_build:
                binaries.require("tidb-server")  # raises, saying how to get one
            from test_rig.servers.tidb_build import build_tidb

            found_tidb = build_tidb(progress=lambda msg: print(f"sandbox: {msg}", flush=True))
        return "tidb-server", found_tidb
    names = [wanted] if wanted else ["mariadbd", "mysqld"]
    for name in names:
        found = binaries.find(name)
        if found:
            return name, found
    raise UsageError(
        "No database server binary found (looked for " + ", ".join(names) + " on PATH and in /usr/sbin); "
        "install one with `apt-get install mariadb-server` or run ./setup.sh."
    )


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux's default when it cannot be read)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A free port for a server to listen on, chosen below the kernel's ephemeral range. On an ephemeral port, a
    client that keeps reconnecting to a killed server can be handed that very port as its own source port and be
    connected to itself (TCP's simultaneous open on loopback); it then holds the port until it gives up, and the
    server cannot be restarted on it ("already in use", seen in a fault test). The kernel's choice (port 0) is the
    fallback when no port below the range is free."""
    low, _high = _ephemeral_ports()
    first = max(1025, low - 12_000)
    for _ in range(200):
        port = random.randrange(first, low)
        if port != 3306 and port_is_free(port, host):
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _last_error(log: Path) -> str:
    """The server's last error line in its log (MariaDB's `[ERROR]`, TiDB's `[FATAL]`/`[ERROR]`), so the message of a
    failed start says why without opening the file (the file may be gone by the time someone reads a CI log)."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-200:]
    except OSError:
        return ""
    errors = [line.strip() for line in lines if ("[ERROR]" in line or "[FATAL]" in line)
              and not line.rstrip().endswith("[ERROR] Aborting")]  # MariaDB's last word, never the reason
    return errors[-1][:300] if errors else ""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on host:port: a bind succeeds with SO_REUSEADDR, as servers bind, so
    the TIME_WAIT sockets a killed server leaves behind do not count."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2) as s:
            s.settimeout(0.5)
            return bool(s.recv(1))  # a MySQL server speaks first (handshake)
    except OSError:
        return False


@dataclass
class SandboxState:
    kind: str
    binary: str
    datadir: str
    port: int
    pid: int
    host: str = "127.0.0.1"
    user: str = "root"
    database: str = "test"
    ssl_ca: str | None = None
    status_port: int | None = None


class Sandbox:
    """One private server. `start()` initialises the data directory on first use."""

    def __init__(self, directory: Path | str | None = None, *, server: str | None = None,
                 max_connections: int = 2000, tls: bool = False, name: str | None = None) -> None:
        directory = directory or None  # an empty --dir chooses none, as an absent one
        if directory is not None and name is not None:
            raise UsageError("--dir and --name both choose the sandbox's directory; give only one of them.")
        if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", name):
            raise UsageError(f"--name {shlex.quote(name)} must be up to 64 letters, digits, '.', '_' or '-' (it names "
                             "a directory); choose another name.")
        # Absolute: the server and its installer run from other directories, and hints are followed from
        # anywhere.
        self.dir = (Path(directory) if directory else default_dir(name)).absolute()
        self.server = server
        self.max_connections = max_connections
        self.tls = tls
        #: the options that choose this sandbox again, for every command we suggest (" --name N",
        #: " --dir D" or ""; the default directory, also from TEST_RIG_SANDBOX_DIR, needs none)
        self.selector = (f" --name {shlex.quote(name)}" if name is not None else
                         f" --dir {shlex.quote(str(self.dir))}" if directory else "")

    def command(self, action: str) -> str:
        """The `test-rig sandbox ACTION` that acts on this same sandbox."""
        return f"test-rig sandbox {action}{self.selector}"

    @property
    def last_port_path(self) -> Path:
        return self.dir / "last-port"

    def _choose_port(self, port: int | None) -> int:
        """The port asked for (refused if taken), else the one used last time if it is still free,
        so a shell that ran `eval "$(test-rig sandbox env)"` keeps working after stop and start."""
        if port is not None:
            if port == 3306:
                raise UsageError("Port 3306 belongs to the system's MySQL/MariaDB service; choose another "
                                 "--port or let the sandbox pick a free one.")
            if not port_is_free(port):
                raise UsageError(f"Port {port} on 127.0.0.1 is already in use by another program; choose another "
                                 "--port or leave it out to get a free one.")
            return port
        try:
            last = int(self.last_port_path.read_text().strip())
        except (OSError, ValueError):
            last = 0
        if last and last != 3306 and port_is_free(last):
            return last
        return free_port()

    @property
    def state_path(self) -> Path:
        return self.dir / STATE_FILE

    def state(self) -> SandboxState | None:
        try:
            return SandboxState(**json.loads(self.state_path.read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> SandboxState | None:
        st = self.state()
        if st and _alive(st.pid) and _port_open(st.host, st.port):
            return st
        return None

    def start(self, port: int | None = None, *, timeout: float = 60.0) -> SandboxState:
        existing = self.running()
        if existing:
            if port is None or port == existing.port:
                return existing
            raise UsageError(f"A sandbox is already running in {self.dir} on port {existing.port}; "
                             f"stop it first with `{self.command('stop')}`.")
        previous = self.state()
        server = self.server or (previous.kind if previous else None)
        port = self._choose_port(port)
        kind, binary = find_server(server)
        self.dir.mkdir(parents=True, exist_ok=True)
        datadir = self.dir / "data"
        status_port: int | None = None
        log = open(self.dir / "server.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            if kind == "tidb-server":
                status_port = free_port()
                argv = [str(binary), "-host", "127.0.0.1", "-P", str(port), "-store", "unistore",
                        "-path", str(datadir), "-status", str(status_port), "-status-host", "127.0.0.1",
                        "-socket", "", "-log-file", str(self.dir / "tidb.log"),
                        "-log-slow-query", str(self.dir / "tidb-slow.log")]
            else:
                if not (datadir / "mysql").is_dir():
                    self._initialise(kind, binary, datadir)
                argv = [
                    str(binary), "--no-defaults", f"--datadir={datadir}", f"--port={port}",
                    f"--socket={self.socket_path}", "--bind-address=127.0.0.1", "--user=root",
                    f"--tmpdir={self.tmpdir}",
                    f"--pid-file={self.dir / 'server.pid'}", f"--max-connections={self.max_connections}",
                    "--skip-name-resolve", "--skip-log-bin", "--innodb-buffer-pool-size=256M",
                    "--innodb-flush-log-at-trx-commit=2", "--skip-performance-schema",
                    "--thread-cache-size=64", "--table-open-cache=4000",
                ]
                if kind == "mysqld":
                    argv.append("--mysqlx=OFF")
                if self.tls:
                    ca, cert, key = self._certificates()
                    argv += [f"--ssl-ca={ca}", f"--ssl-cert={cert}", f"--ssl-key={key}"]
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        finally:
            log.close()
        state = SandboxState(kind=kind, binary=str(binary), datadir=str(datadir), port=port, pid=proc.pid,
                             ssl_ca=str(self.dir / "tls" / "ca.pem") if self.tls else None, status_port=status_port)
        try:
            self._wait_ready(proc, state, timeout)
        except BaseException:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
            raise
        self.state_path.write_text(json.dumps(asdict(state), indent=2))
        _register(self.dir, state.port)
        self.last_port_path.write_text(f"{port}\n")
        return state

    def _wait_ready(self, proc: subprocess.Popen[bytes], state: SandboxState, timeout: float) -> None:
        """Wait until the server just started answers, and prove the answer comes from it: its
        process is alive and the server reports our own data directory (or pid file)."""
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                said = _last_error(self.dir / "server.log")
                raise RigError(f"The sandbox server exited with status {proc.returncode} while starting"
                               f"{f' ({said})' if said else ''}; see {self.dir / 'server.log'}.")
            if _port_open(state.host, state.port) and self._is_ours(state):
                return
            if time.monotonic() > deadline:
                raise RigError(f"The sandbox server did not accept connections within {timeout:g} s; "
                               f"see {self.dir / 'server.log'}.")
            time.sleep(0.05)

    def _is_ours(self, state: SandboxState) -> bool:
        import asyncio

        from test_rig.db import Target, connect, quote_ident

        async def check() -> bool:
            target = Target("sandbox", state.host, state.port, state.user, "", None, 5.0)
            conn = await connect(target, database=False, detect=False)
            try:
                if state.kind == "tidb-server":
                    # TiDB answers @@datadir with its --path; its port variable is the one we gave.
                    seen = await conn.query("SELECT @@datadir, @@port")
                    ours = bool(seen) and Path(str(seen[0][0])).resolve() == Path(state.datadir).resolve()
                else:
                    seen = await conn.query("SELECT @@pid_file, @@port")
                    ours = bool(seen) and Path(str(seen[0][0])).resolve() == (self.dir / "server.pid").resolve()
                if ours:
                    await conn.execute(f"CREATE DATABASE IF NOT EXISTS {quote_ident(state.database)}")
                return ours
            finally:
                await conn.close()

        try:
            return asyncio.run(check())
        except Exception:  # not ready yet, or not a server we can log into: not ours (yet)
            return False

    @property
    def socket_path(self) -> Path:
        """The server's Unix socket (nothing of test-rig's connects to it: all is TCP on 127.0.0.1). In the sandbox's
        directory when the path fits a socket address (107 bytes); otherwise a short path in the temporary directory
        named after the sandbox's directory, since mariadbd refuses to start with a longer one ("The socket file path
        is too long", seen with pytest-xdist's deeper temporary directories)."""
        own = self.dir.resolve() / "server.sock"
        if len(os.fsencode(own)) <= 107:
            return own
        digest = hashlib.sha1(os.fsencode(self.dir.resolve())).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"test-rig-{digest}.sock"

    @property
    def tmpdir(self) -> Path:
        """The server's own temporary directory: sandboxes initialised at the same moment (pytest-xdist
        workers) otherwise collide on temporary table names in /tmp."""
        path = self.dir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _initialise(self, kind: str, binary: Path, datadir: Path) -> None:
        if datadir.exists():
            shutil.rmtree(datadir)
        if kind == "mariadbd":
            installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
            if not installer:
                raise UsageError("mariadb-install-db was not found; install the mariadb-server package.")
            argv = [installer, "--no-defaults", f"--datadir={datadir}",
                    "--auth-root-authentication-method=normal", "--user=root", "--skip-test-db",
                    "--skip-name-resolve", f"--tmpdir={self.tmpdir}"]
        else:
            argv = [str(binary), "--no-defaults", "--initialize-insecure", f"--datadir={datadir}", "--user=root",
                    f"--tmpdir={self.tmpdir}"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
        if done.returncode != 0:
            raise RigError(f"Initialising the sandbox data directory failed ({done.returncode}): "
                           f"{(done.stderr or done.stdout).strip()[-500:]}")

    def _certificates(self) -> tuple[Path, Path, Path]:
        """A private CA and a server certificate for 127.0.0.1/localhost, made once with openssl."""
        tls = self.dir / "tls"
        ca, cert, key = tls / "ca.pem", tls / "server-cert.pem", tls / "server-key.pem"
        if cert.is_file():
            return ca, cert, key
        openssl = shutil.which("openssl")
        if not openssl:
            raise UsageError("openssl was not found; install it (`apt-get install openssl`) to start a TLS sandbox.")
        tls.mkdir(parents=True, exist_ok=True)
        (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        steps = [
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
             "-keyout", str(tls / "ca-key.pem"), "-out", str(ca), "-subj", "/CN=test-rig sandbox CA"],
            [openssl, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(tls / "server.csr"),
             "-subj", "/CN=127.0.0.1"],
            [openssl, "x509", "-req", "-in", str(tls / "server.csr"), "-CA", str(ca), "-CAkey", str(tls / "ca-key.pem"),
             "-CAcreateserial", "-out", str(cert), "-days", "3650", "-extfile", str(tls / "san.ext")],
        ]
        for argv in steps:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RigError(f"Making the sandbox's TLS certificates failed: {done.stderr.strip()[-300:]}")
        return ca, cert, key

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the server cleanly (SIGTERM, then SIGKILL after `timeout`). True if one was running."""
        st = self.state()
        if not st or not _alive(st.pid):
            self._forget()
            return False
        os.kill(st.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while _alive(st.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(st.pid):
            os.kill(st.pid, signal.SIGKILL)
            _wait_gone(st.pid, 5)
        self._forget()
        return True

    def kill(self) -> None:
        """SIGKILL the server (a crash, for fault tests); the state file is kept for a restart."""
        st = self.state()
        if st and _alive(st.pid):
            os.kill(st.pid, signal.SIGKILL)
            _wait_gone(st.pid, 10)

    def restart(self, timeout: float = 30.0) -> SandboxState:
        """Start a killed server again on the same port and data. Just after a SIGKILL the port may be held for a
        moment by the dead server's closing connections, so wait for it rather than move to another port (the
        run's connections know only this one)."""
        st = self.state()
        if st is None:
            raise RigError(f"No sandbox state in {self.dir} to restart from.")
        running = self.running()
        if running is not None:
            return running
        deadline = time.monotonic() + timeout
        while not port_is_free(st.port, st.host):
            if time.monotonic() > deadline:
                raise RigError(f"Port {st.port} was still in use {timeout:g} s after the sandbox server was killed.")
            time.sleep(0.02)
        return self.start(st.port)

    def pause(self, timeout: float = 10.0) -> None:
        """SIGSTOP the server and return once every one of its threads is stopped.

        The signal is delivered to each thread as it next runs, so a request sent just after `os.kill` could still
        be answered; callers that test "a server that cannot answer" need the stop to have taken effect."""
        st = self.state()
        if not st or not _alive(st.pid):
            raise RigError(f"No sandbox server is running in {self.dir} to pause.")
        os.kill(st.pid, signal.SIGSTOP)
        deadline = time.monotonic() + timeout
        while not _all_threads_stopped(st.pid):
            if time.monotonic() > deadline:
                raise RigError(f"The sandbox server (pid {st.pid}) did not stop within {timeout:g} s of SIGSTOP.")
            time.sleep(0.005)

    def resume(self) -> None:
        """SIGCONT a paused server (a no-op for one that is running or gone)."""
        st = self.state()
        if st:
            with contextlib.suppress(ProcessLookupError):
                os.kill(st.pid, signal.SIGCONT)

    def destroy(self) -> None:
        self.resume()  # a paused server cannot act on SIGTERM
        self.stop()
        socket_file = self.socket_path  # outside the directory when its path is long: it must not stay behind
        for leftover in (socket_file, socket_file.with_name(socket_file.name + ".lock")):
            with contextlib.suppress(OSError):
                leftover.unlink(missing_ok=True)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _forget(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.state_path.unlink()

    def env_lines(self) -> list[str]:
        st = self.running()
        if not st:
            raise UsageError(f"No sandbox is running in {self.dir}; start one with `{self.command('start')}`.")
        lines = [f"export TIDB_HOST={st.host}:{st.port}", f"export TIDB_USER={st.user}",
                 "export TIDB_PASSWORD=", f"export TIDB_DATABASE={st.database}"]
        if st.ssl_ca:
            lines += ["export TIDB_SSL_MODE=verify-identity", f"export TIDB_SSL_CA={st.ssl_ca}"]
        return lines


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _all_threads_stopped(pid: int) -> bool:
    """True when every thread of `pid` is in the stopped state (T) or the process is gone."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[-1].split()[0] not in ("T", "t", "Z", "X"):
                    return False
        except OSError:
            continue  # the thread ended
    return True


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
