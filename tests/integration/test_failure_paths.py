"""Failure paths a demanding user meets: taken ports, bad report paths, unreachable servers,
config-gen mistakes, slow steps that are not blocks. Each gets a clear sentence, the right exit
status and, once the run has started, a report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.coordinator import Coordinator, Step
from test_rig.db import Target, _Killer, connect
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli, sql_on, stopped_while_silent


@pytest.fixture
def listener() -> Iterator[int]:
    """A port that another program holds."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def test_sandbox_on_a_taken_port_is_refused_and_leaves_nothing(listener: int, tmp_path: Path) -> None:
    d = tmp_path / "box"
    r = run_cli("sandbox", "start", "--dir", str(d), "--port", str(listener))
    assert r.returncode == 2
    assert r.stderr == (f"error: Port {listener} on 127.0.0.1 is already in use by another program; choose another "
                        "--port or leave it out to get a free one.\n")
    assert not d.exists()


def test_sandbox_on_the_port_of_another_sandbox_is_refused(sandbox: SandboxState, tmp_path: Path) -> None:
    """The old readiness check connected to the other server and reported success."""
    d = tmp_path / "second"
    r = run_cli("sandbox", "start", "--dir", str(d), "--port", str(sandbox.port))
    assert r.returncode == 2
    assert f"Port {sandbox.port} on 127.0.0.1 is already in use" in r.stderr
    assert not (d / "sandbox.json").exists()


def test_sandbox_stop_then_start_keeps_the_port(tmp_path: Path) -> None:
    d = str(tmp_path / "box")
    first = run_cli("sandbox", "start", "--dir", d)
    assert first.returncode == 0, first.stderr
    env_before = run_cli("sandbox", "env", "--dir", d).stdout
    assert run_cli("sandbox", "stop", "--dir", d).returncode == 0
    again = run_cli("sandbox", "start", "--dir", d)
    try:
        assert again.returncode == 0, again.stderr
        assert run_cli("sandbox", "env", "--dir", d).stdout == env_before
    finally:
        run_cli("sandbox", "stop", "--dir", d, "--destroy")


@pytest.mark.parametrize("kind", ["directory", "under a file"])
def test_an_unwritable_report_path_is_refused_before_the_run(sandbox: SandboxState, server_env: dict[str, str],
                                                             tmp_path: Path, kind: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    path = tmp_path if kind == "directory" else blocker / "out.json"
    r = run_cli("isolation", "--json", str(path), "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    if kind == "directory":
        assert r.stderr == f"error: --json {path} is a directory; give a file name such as {path / 'result.json'}.\n"
    else:
        assert r.stderr == (f"error: --json {path} cannot be created because {blocker} is a file, not a directory; "
                            "choose another path.\n")
    assert r.stdout == ""  # nothing ran


@pytest.mark.parametrize(("command", "reports", "message"), [
    (["basic", "-H", "127.0.0.1:1"], ["--json", "r.out", "--html", "r.out"], "--json and --html both name r.out"),
    (["bench", "select-1", "-H", "127.0.0.1:1"], ["--junit", "r.xml", "--html", "./r.xml"],
     "--junit and --html both name ./r.xml"),
    (["check", "/dev/null"], ["--json", "r.out", "--junit", "r.out"], "--json and --junit both name r.out"),
])
def test_two_reports_in_one_file_are_refused_before_the_run(tmp_path: Path, command: list[str],
                                                            reports: list[str], message: str) -> None:
    """`basic --json r.out --html r.out` exited 0 and the file held only the HTML: the JSON result was lost.
    Nothing listens at the address: exit 2 and no output prove nothing was tried."""
    prompt = [] if command[0] == "check" else ["--no-password-prompt"]
    r = run_cli(*command, *reports, *prompt, cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, ""), r.stdout + r.stderr
    assert r.stderr == f"error: {message}: each report needs a file of its own.\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("command", "option", "example"), [(["basic"], "--json", "result.json"),
                                                          (["hunt"], "--log", "hunt.log"),
                                                          (["elle", "list-append"], "--history", "history.jsonl")])
def test_an_empty_report_path_is_refused_before_the_run(tmp_path: Path, command: list[str], option: str,
                                                        example: str) -> None:
    """`--json ""` was accepted and no report written (one check for every output path: check_report_path)."""
    r = run_cli(*command, option, "", "-H", "127.0.0.1:1", "--no-password-prompt", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"error: {option} was given an empty file name; give one such as {example}, or leave "
                        f"{option} out.\n")


@pytest.mark.parametrize("command", [["isolation"], ["bench", "point-select", "--duration", "1"],
                                     ["multi-connection", "--connection-count", "2"]])
def test_an_unreachable_server_still_gets_a_report(command: list[str], tmp_path: Path) -> None:
    out, junit = tmp_path / "o.json", tmp_path / "o.xml"
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\ntimeout_secs = 1\n[test]\ntimeout_secs = 2\n")
    r = run_cli(*command, "-c", str(cfg), "-H", "127.0.0.1:1", "--no-password-prompt", "--json", str(out),
                "--junit", str(junit), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["ok"] is False
    assert "127.0.0.1:1" in json.dumps(data) and "2003" in json.dumps(data)
    root = ET.parse(junit).getroot()
    assert root.findall(".//error") or root.findall(".//failure")


def test_txn_mode_on_mariadb_is_said_to_be_ignored(server_env: dict[str, str]) -> None:
    r = run_cli("isolation", "--isolation-level", "read-committed", "--test", "G0", "--txn-mode", "optimistic",
                "--no-password-prompt", env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count("note: --txn-mode optimistic is ignored: transaction modes exist only on TiDB, and this "
                          "server is mariadb") == 1


def test_a_slow_step_is_waited_for_not_called_blocked(sandbox: SandboxState) -> None:
    target = Target("t", sandbox.host, sandbox.port, "root", "", "test", 5)

    async def body() -> list[bool]:
        coordinator = Coordinator([target, target], names=["A", "B"], block_window=0.05)
        await coordinator.open()
        try:
            result = await coordinator.run_script([Step("A", "SELECT SLEEP(0.6)"), Step("B", "SELECT 1")])
        finally:
            await coordinator.close()
        # B ran after A finished: a slow step holds the script, it is not passed over as blocked.
        assert result.completion_order() == [0, 1]
        return [s.blocked for s in result.steps]

    assert asyncio.run(body()) == [False, False]


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "cfg.yaml"], "error: --output cfg.yaml must end in .json or .toml (the only formats test-rig reads); "
                         "rename it.\n"),
    (["-o", "cfg.toml", "-f", "json"], "error: --format json does not match --output cfg.toml; use a .json name or "
                                       "--format toml.\n"),
    (["-o", "missing/cfg.json"], "error: The directory missing does not exist; create it first or choose another "
                                 "--output.\n"),
])
def test_config_gen_refuses_what_nothing_could_load(tmp_path: Path, args: list[str], message: str) -> None:
    r = run_cli("config-gen", *args, cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == message
    assert list(tmp_path.iterdir()) == []


def test_config_gen_does_not_overwrite_without_force(tmp_path: Path) -> None:
    assert run_cli("config-gen", cwd=tmp_path).returncode == 0
    (tmp_path / "tidb_config.json").write_text('{"database": {"host": "mine:4000"}}')
    r = run_cli("config-gen", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == ("error: tidb_config.json already exists; pass --force to overwrite it or choose another "
                        "--output.\n")
    assert "mine:4000" in (tmp_path / "tidb_config.json").read_text()
    assert run_cli("config-gen", "--force", cwd=tmp_path).returncode == 0
    assert "mine:4000" not in (tmp_path / "tidb_config.json").read_text()


def test_two_default_config_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tidb_config.json").write_text("{}")
    (tmp_path / "tidb_config.toml").write_text("")
    r = run_cli("show-config", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == (f"error: Both tidb_config.json and tidb_config.toml are in {tmp_path} and test-rig will not "
                        "guess which you meant; pick one with -c/--config or remove the other.\n")


def test_show_config_takes_no_report_options(tmp_path: Path) -> None:
    r = run_cli("show-config", "--json", "x.json", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr == "error: No such option '--json'; see 'python -m test_rig show-config --help'.\n"
    assert not (tmp_path / "x.json").exists()


def test_an_empty_unknown_section_is_attributed_to_its_file(tmp_path: Path) -> None:
    (tmp_path / "tidb_config.toml").write_text("[nosuch]\n")
    r = run_cli("show-config", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: Invalid configuration: file {tmp_path / 'tidb_config.toml'}, key nosuch: "
                               "nosuch is not a known setting.")


def test_a_host_error_names_the_value_once(tmp_path: Path) -> None:
    r = run_cli("basic", "-H", "127.0.0.1", "--no-password-prompt", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.count("'127.0.0.1'") == 1


@pytest.mark.parametrize("closer", ["the caller", "the cancelled task"])
@pytest.mark.parametrize("server", ["refuses", "is silent"])
def test_a_statement_that_cannot_be_killed_is_reported_and_the_close_still_ends(
        server: str, closer: str, sandbox: SandboxState, caplog: pytest.LogCaptureFixture) -> None:
    """close() of a connection whose statement a cancellation cut off, when no connection for the KILL can be made:
    the connection runs through a forwarder that then refuses new connections (stops listening) or takes them and
    never answers. A warning names the connection, the statement and why (the refusal; the KILL's time budget
    spent), and the close ends. (The statement is then killed here.) The close is called by the task that awaited
    the statement or, as a run's `finally` does, by the cancelled task itself: there, on Python 3.11.2,
    asyncio.timeout's expiry was that cancellation again, so the KILL's time budget ended the close without a
    word (timeouts.timeout)."""
    async def main() -> tuple[int, int, int]:
        async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            finally:
                writer.close()

        pipes: list[asyncio.Task[None]] = []
        held: list[asyncio.StreamWriter] = []
        silent = False

        async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            if silent:
                held.append(writer)  # taken, never answered
                return
            up_reader, up_writer = await asyncio.open_connection(sandbox.host, sandbox.port)
            pipes.extend([asyncio.create_task(pipe(reader, up_writer)), asyncio.create_task(pipe(up_reader, writer))])

        forwarder = await asyncio.start_server(forward, "127.0.0.1", 0)
        port = forwarder.sockets[0].getsockname()[1]
        direct = await connect(Target("t", sandbox.host, sandbox.port, "root", "", None, 10))
        conn = await connect(Target("t", "127.0.0.1", port, "root", "", None, 10))
        closed_by_itself: list[bool] = []

        async def run_and_close() -> None:
            try:
                await conn.execute("SELECT SLEEP(30) AS rig_unkillable")
            finally:
                if closer == "the cancelled task":
                    await conn.close()
                    closed_by_itself.append(True)

        statement = asyncio.create_task(run_and_close())
        find = f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = {conn.thread_id} AND INFO IS NOT NULL"
        while not await direct.scalar(find):  # the event: the statement runs on the server
            await asyncio.sleep(0.02)
        if server == "refuses":
            forwarder.close()  # new connections are refused from now on; the forwarded one stays
            await forwarder.wait_closed()
        else:
            silent = True
        statement.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await statement
        assert closed_by_itself == ([True] if closer == "the cancelled task" else [])
        await conn.close()
        still = int(await direct.scalar(find))
        await direct.execute(f"KILL QUERY {conn.thread_id}")
        await direct.close()
        for task in pipes:
            task.cancel()
        for writer in held:
            writer.close()
        forwarder.close()
        return int(str(conn.thread_id)), port, still

    with caplog.at_level(logging.WARNING, logger="test_rig.db"):
        thread_id, port, still_running = asyncio.run(main())
    assert still_running == 1
    why = ("(2003) Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connect call failed "
           f"('127.0.0.1', {port}))" if server == "refuses" else "TimeoutError")
    assert [r.getMessage() for r in caplog.records if r.name == "test_rig.db"] == [
        f"could not stop the interrupted statement on connection {thread_id} (SELECT SLEEP(30) AS rig_unkillable): "
        + why]


def test_many_statements_cut_off_at_once_are_killed_over_a_few_connections(sandbox: SandboxState) -> None:
    """Twenty connections each in a long SELECT (BENCHMARK: it never looks for a closed client, as a long SELECT
    does not), cut off by a cancellation and closed at once: every statement is killed (twenty KILLs, none left
    running), over at most _Killer.LANES connections of its own (the server's count of connections made), not one
    each."""
    async def main() -> tuple[int, int, int]:
        target = Target("t", sandbox.host, sandbox.port, "root", "", None, 10)
        direct = await connect(target)

        async def status(name: str) -> int:
            return int(str((await direct.query(f"SHOW GLOBAL STATUS LIKE '{name}'"))[0][1]))

        conns = [await connect(target) for _ in range(20)]
        statements = [asyncio.create_task(c.execute("SELECT BENCHMARK(10000000000, MD5('x')) AS rig_many"))
                      for c in conns]
        find = ("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'SELECT BENCHMARK(% AS rig_many'"
                " AND ID <> CONNECTION_ID()")
        while int(await direct.scalar(find)) < 20:  # the event: every statement runs on the server
            await asyncio.sleep(0.02)
        kills, connections = await status("Com_kill"), await status("Connections")
        for task in statements:
            task.cancel()
        await asyncio.gather(*statements, return_exceptions=True)
        await asyncio.gather(*(c.close() for c in conns))
        deadline = time.monotonic() + 30
        while int(await direct.scalar(find)) and time.monotonic() < deadline:  # the event: the statements ended
            await asyncio.sleep(0.02)
        left = int(await direct.scalar(find))
        made = await status("Connections") - connections
        killed = await status("Com_kill") - kills
        for thread_id in [c.thread_id for c in conns] if left else []:  # (a failure's: not left running)
            await direct.execute(f"KILL QUERY {thread_id}")
        await direct.close()
        return killed, made, left

    killed, made, left = asyncio.run(main())
    assert (killed, left) == (20, 0)
    assert 1 <= made <= _Killer.LANES


def test_an_isolation_run_stopped_while_the_server_is_silent_says_its_schema_is_left(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """SIGTERM once the server (reached through a forwarder) has gone silent mid-run: the run ends, 143, and as
    its schema could not be dropped, the console and the report say it is left on the server (it is: dropped here
    afterwards) instead of "the run's schema was dropped"."""
    out = tmp_path / "iso.json"
    cli = stopped_while_silent(sandbox, "isolation", "--json", str(out), started="read-uncommitted: 15 test(s) judged")
    data = json.loads(out.read_text())
    [schema] = data["left_on_server"]
    assert (data["complete"], data["outcome"], data["reason"]) == (
        False, "interrupted", f"interrupted by SIGTERM; left on the server, as it could not be dropped: {schema}")
    assert f"the run's schema {schema} could not be dropped" in cli.output()
    sql_on(sandbox, f"DROP DATABASE {schema}")  # raises if it were not there


def test_an_elle_run_stopped_while_the_server_is_silent_says_its_schema_is_left(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """The same for `elle`: its schema, which it could not drop, is named in the report and the verdict line (and
    is there: dropped here afterwards); before, its failed drop was suppressed without a word."""
    out = tmp_path / "elle.json"
    cli = stopped_while_silent(sandbox, "elle", "list-append", "--duration", "60", "--json", str(out),
                               started="   1 s: ")
    data = json.loads(out.read_text())
    [schema] = data["left_on_server"]
    said = f"interrupted by SIGTERM; left on the server, as it could not be dropped: {schema}"
    assert (data["complete"], data["outcome"], data["reason"]) == (False, "interrupted", said)
    assert f"INTERRUPTED: {said}" in cli.output()
    # the DROP that got no answer is given up, not KILLed as well (3 s more against a silent server)
    assert [line for line in cli.output().splitlines() if "could not stop" in line and "DROP" in line] == []
    sql_on(sandbox, f"DROP DATABASE {schema}")  # raises if it were not there


def test_a_prepare_stopped_while_the_server_is_silent_ends_and_names_the_tables_left(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """bench prepare stopped by SIGTERM once the server (behind a forwarder) went silent mid-load: it ends, 143,
    and says which table it could not drop, in the log, the report and the verdict line (it is there: dropped here
    afterwards); before, its DROP TABLE waited for ever, and then only the log said it."""
    sql_on(sandbox, "CREATE DATABASE IF NOT EXISTS rig_silent_prepare")
    out = tmp_path / "prepare.json"
    cli = stopped_while_silent(sandbox, "bench", "prepare", "--table-size", "2000000", "--json", str(out),
                               started="sbtest1: inserting 2000000 rows", database="rig_silent_prepare")
    assert "left on the server, as it could not be dropped: sbtest1 (" in cli.output()
    said = "interrupted by SIGTERM; left on the server, as it could not be dropped: rig_silent_prepare.sbtest1"
    data = json.loads(out.read_text())
    assert (data["left_on_server"], data["complete"], data["outcome"], data["reason"]) == (
        ["rig_silent_prepare.sbtest1"], False, "interrupted", said)
    assert f"INTERRUPTED: {said}" in cli.output()
    sql_on(sandbox, "DROP TABLE rig_silent_prepare.sbtest1", "DROP DATABASE rig_silent_prepare")  # raises if absent


def test_a_tpcc_prepare_stopped_while_the_server_is_silent_names_the_tables_left(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """The same for `bench tpcc-prepare`: the nine tables it made and could not drop are in the report and the
    verdict line (and are there: dropped here afterwards)."""
    from test_rig.load.tpcc import TABLES

    sql_on(sandbox, "CREATE DATABASE IF NOT EXISTS rig_silent_tpcc")
    out = tmp_path / "tpcc.json"
    cli = stopped_while_silent(sandbox, "bench", "tpcc-prepare", "--warehouses", "4", "--json", str(out),
                               started="loading stock", database="rig_silent_tpcc")
    left = [f"rig_silent_tpcc.{table}" for table in TABLES]
    said = f"interrupted by SIGTERM; left on the server, as it could not be dropped: {', '.join(left)}"
    data = json.loads(out.read_text())
    assert (data["left_on_server"], data["complete"], data["outcome"], data["reason"]) == (
        left, False, "interrupted", said)
    assert f"INTERRUPTED: {said}" in cli.output()
    sql_on(sandbox, *(f"DROP TABLE {table}" for table in left), "DROP DATABASE rig_silent_tpcc")  # raises if absent


def test_a_program_a_test_leaves_running_is_stopped_in_order(sandbox: SandboxState) -> None:
    """The helper the conftest calls after every test: a program still running (its test failed before stopping
    it) gets SIGTERM and so stops in order (exit 143), instead of loading the tests after it for its duration."""
    run = RunningCli("bench", "select-1", "--connections", "1", "--duration", "60", "--no-password-prompt",
                     env=env_for(sandbox))
    run.wait_for("load started")
    RunningCli.stop_left_running()
    assert (run.proc.returncode, RunningCli.started) == (143, [])


def _schemas_named(state: SandboxState, name: str) -> list[str]:
    return [str(row[0]) for row in sql_on(state, f"SHOW DATABASES LIKE '{name}'")[0]]


def test_an_isolation_schema_whose_create_lost_its_answer_is_used_and_dropped(
        sandbox: SandboxState, tmp_path: Path) -> None:
    """The run's CREATE DATABASE reaches the server, which makes the schema, and the connection is lost before the
    answer comes back: the retry's CREATE gets 1007, which for the run's own unique name means the first one made
    it. The run goes on in it and drops it. Before, the run failed on 1007 and left the schema, unnamed."""
    from tests.helpers import SilencingForwarder

    out = tmp_path / "iso.json"
    with SilencingForwarder(sandbox.host, sandbox.port, lose_answer_to=b"CREATE DATABASE") as forwarder:
        env = {**env_for(sandbox), "TIDB_HOST": f"127.0.0.1:{forwarder.port}"}
        r = run_cli("isolation", "--test", "G0", "--isolation-level", "read-committed", "--json", str(out),
                    "--no-password-prompt", env=env)
    schema = forwarder.lost_statement.split(b"`")[1].decode()
    assert (forwarder.answers_lost, schema.startswith("rig_iso_")) == (1, True)
    data = json.loads(out.read_text())
    assert (r.returncode, data["outcome"], "left_on_server" in data) == (0, "passed", False), r.stdout + r.stderr
    assert _schemas_named(sandbox, schema) == []


def test_an_elle_schema_whose_create_lost_its_answer_is_dropped(sandbox: SandboxState, tmp_path: Path) -> None:
    """The same for `elle`, which does not retry its CREATE: the run fails on the lost connection, and the schema
    the server made is dropped again before it ends. Before, it was left on the server, named nowhere."""
    from tests.helpers import SilencingForwarder

    out = tmp_path / "elle.json"
    with SilencingForwarder(sandbox.host, sandbox.port, lose_answer_to=b"CREATE DATABASE") as forwarder:
        env = {**env_for(sandbox), "TIDB_HOST": f"127.0.0.1:{forwarder.port}"}
        r = run_cli("elle", "list-append", "--duration", "1", "--json", str(out), "--no-password-prompt", env=env)
    schema = forwarder.lost_statement.split(b"`")[1].decode()
    assert (forwarder.answers_lost, schema.startswith("rig_elle_")) == (1, True)
    data = json.loads(out.read_text())
    assert (r.returncode, data["outcome"], "left_on_server" in data) == (1, "failed", False), r.stdout + r.stderr
    assert _schemas_named(sandbox, schema) == []


@pytest.mark.parametrize(("command", "table"), [(["bench", "prepare", "--table-size", "100"], "sbtest1"),
                                                (["bench", "tpcc-prepare", "--warehouses", "1"], "warehouse")])
def test_a_prepare_the_server_refuses_names_no_table_as_left(command: list[str], table: str,
                                                             sandbox: SandboxState, tmp_path: Path) -> None:
    """A user who may not create tables: the CREATE is refused (1142), so nothing was made and nothing is said to
    be left on the server (before, the refused table was named as left, although it never existed)."""
    from tests.helpers import create_user

    sql_on(sandbox, "CREATE DATABASE IF NOT EXISTS rig_refused_prepare")
    create_user(sandbox, "rig_noprepare", grants="SELECT ON rig_refused_prepare.*")
    out = tmp_path / "p.json"
    env = {**env_for(sandbox), "TIDB_USER": "rig_noprepare", "TIDB_DATABASE": "rig_refused_prepare"}
    r = run_cli(*command, "--json", str(out), "--no-password-prompt", env=env)
    data = json.loads(out.read_text())
    assert (r.returncode, data["outcome"], "left_on_server" in data) == (1, "failed", False), r.stdout + r.stderr
    assert "CREATE command denied to user 'rig_noprepare'" in data["reason"]
    assert "left on the server" not in r.stdout + r.stderr
    assert sql_on(sandbox, f"SHOW TABLES FROM rig_refused_prepare LIKE '{table}'") == [[]]
