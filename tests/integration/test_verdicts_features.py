"""One verdict to every output (issues 17 and 18) for `isolation`, `job-monitor`, `gen-data` and `report`: for
each command a run that passes, one that fails, one undecided and one interrupted, each checked at once in the
console's last line, the --json (`ok`, `outcome`, `complete`), the --junit file, the --html banner and the exit
status; `test-rig report` renders each of those results again to the same banner; an isolation result read back
from its JSON is judged again to the same verdicts, for every test of the catalogue. Against the session's
MariaDB sandbox."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from test_rig.db import Target, connect
from test_rig.isolation.catalogue import ALL_TESTS, CATALOGUE
from test_rig.isolation.runner import TestResult
from test_rig.results import CELL
from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, env_for, run_cli
from tests.integration.test_report_any import banner

#: What the banner's text begins with for each verdict.
BANNER_START = {"passed": "PASSED: every check passed.", "failed": "FAILED: ", "undecided": "UNDECIDED: ",
                "interrupted": "INTERRUPTED: "}


@dataclass
class Outputs:
    """The files of one run: --json, --junit, --html."""

    json: Path
    junit: Path
    html: Path

    @classmethod
    def under(cls, folder: Path, name: str) -> Outputs:
        return cls(folder / f"{name}.json", folder / f"{name}.xml", folder / f"{name}.html")

    def args(self) -> list[str]:
        return ["--json", str(self.json), "--junit", str(self.junit), "--html", str(self.html)]


def assert_agree(out: Outputs, status: int, last_line: str, verdict: str, reason: str, *,
                 own_status: int | None = None) -> dict[str, object]:
    """Every output of the run tells the same story: the exit status, the console's last line, the JSON's ok,
    outcome, reason and complete, the JUnit file (no failure or error for a pass; a failure for a failed run;
    an error for an undecided or interrupted one), the HTML banner; and `test-rig report` renders the JSON
    again to the same banner (`own_status`: the command's own documented status for the verdict). Returns the
    JSON."""
    expected_status = own_status if own_status is not None else {"passed": 0, "failed": 1, "undecided": 1}.get(
        verdict, status)
    assert status == expected_status
    data = json.loads(out.json.read_text())
    assert (data["ok"], data["outcome"], data["reason"], data["complete"]) == (
        verdict == "passed", verdict, reason, verdict != "interrupted")
    if verdict == "interrupted":
        assert last_line == reason  # the program's one line on stderr
    else:
        assert last_line == f"{verdict.upper()}: {reason}"
    root = ET.parse(out.junit).getroot()
    failures, errors = root.findall(".//failure"), root.findall(".//error")
    if verdict == "passed":
        assert (failures, errors) == ([], [])
    elif verdict == "failed":
        assert failures and not errors
    else:
        assert errors and not failures
    shown = banner(out.html)
    assert shown[0] == verdict and shown[1].startswith(BANNER_START[verdict])
    again = out.html.with_name(out.html.stem + "-again.html")
    r = run_cli("report", str(out.json), "--html", str(again))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"report written to {again}\n", "")
    assert banner(again) == shown
    return data  # type: ignore[no-any-return]


def last_line(stdout: str, stderr: str, verdict: str) -> str:
    """The console's last line; for an interrupted run, the program's line on stderr, after stdout ended with the
    same verdict as every run's does ("INTERRUPTED: interrupted by SIGINT")."""
    if verdict == "interrupted":
        said = stderr.strip().splitlines()[-1]
        assert stdout.strip().splitlines()[-1] == f"INTERRUPTED: {said}", stdout
        return said
    return stdout.strip().splitlines()[-1]


def sql(st: SandboxState, *statements: str) -> None:
    async def go() -> None:
        conn = await connect(Target("t", st.host, st.port, "root", "", "test", 10))
        try:
            for s in statements:
                await conn.execute(s)
        finally:
            await conn.close()

    asyncio.run(go())


# --------------------------------------------------------------------------- isolation


def test_isolation_four_verdicts(sandbox: SandboxState, tmp_path: Path) -> None:
    env = env_for(sandbox)
    g0 = ["isolation", "--isolation-level", "serializable", "--test", "G0", "--no-password-prompt"]
    # passed: G0 at serializable, prevented, compared with nothing
    out = Outputs.under(tmp_path, "passed")
    r = run_cli(*g0, *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "passed"), "passed", "every check passed")
    assert [x["outcome"] for x in data["results"]] == ["prevented"]  # type: ignore[union-attr,index]
    # failed: a profile that expects G0 at serializable to be an anomaly
    profile = tmp_path / "wrong.toml"
    profile.write_text('[cells.serializable]\nG0 = "anomaly"\n')
    out = Outputs.under(tmp_path, "failed")
    r = run_cli(*g0, "--expect", str(profile), *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "failed"), "failed", "1 check failed")
    assert data["failed"] == 1 and len(data["differences"]) == 1  # type: ignore[arg-type]
    assert f"1 cell(s) differ from profile {profile}:" in r.stdout
    # undecided: a read-only session, in which no write of the test can run
    out = Outputs.under(tmp_path, "undecided")
    r = run_cli(*g0, "--session-var", "tx_read_only=1", *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "undecided"), "undecided",
                        "1 check could not be decided")
    assert [x["outcome"] for x in data["results"]] == ["undecided"]  # type: ignore[union-attr,index]
    assert "1 cell(s) undecided" in r.stdout
    # interrupted: SIGINT once the run said it started
    out = Outputs.under(tmp_path, "interrupted")
    run = RunningCli("isolation", "--no-password-prompt", *out.args(), env=env)
    run.wait_for("test-rig isolation: ")
    run.proc.send_signal(signal.SIGINT)
    status = run.finish()
    assert_agree(out, status, last_line("".join(run.stdout), "".join(run.stderr), "interrupted"), "interrupted",
                 "interrupted by SIGINT")
    assert status == 130 and "Traceback" not in run.output()


def test_every_catalogue_result_is_judged_again_from_its_json(any_server: SandboxState, tmp_path: Path) -> None:
    """Issue 17: StepRecord.to_dict kept no step label, so a result read back could not be judged. Every test of
    the catalogue at every level (on TiDB also per transaction mode), read back from the run's JSON, gets the
    verdict the run gave it."""
    out = tmp_path / "all.json"
    r = run_cli("isolation", "--isolation-level", "all", "--json", str(out), "--no-password-prompt",
                env=env_for(any_server), timeout=600)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    data = json.loads(out.read_text())
    results = data["results"]
    levels = 6 if data["server"]["kind"] == "tidb" else 4  # TiDB: RC and RR in both transaction modes
    assert {x["test"] for x in results} == set(CATALOGUE) and len(results) == levels * len(ALL_TESTS)
    for written in results:
        result = TestResult.from_dict(written)
        assert result.to_dict() == written
        again = result.judged_again(CATALOGUE[result.test])
        assert (again.outcome, again.reason) == (written["outcome"], written["explanation"]), \
            f"{result.test} at {result.isolation}"


def test_a_result_read_back_with_another_log_is_judged_differently() -> None:
    """The re-judging reads the steps, not the stored outcome: a G0 result whose T2 read shows T1's
    uncommitted write (a buggy server) is judged an anomaly again, whatever the JSON says."""
    from test_rig.coordinator import StepRecord
    from test_rig.isolation.catalogue import Observation, judge

    test = CATALOGUE["G1a"]
    # T1's rolled-back 101, read by T2
    steps = [StepRecord(i, s.txn, s.sql, label=s.label, started=i * 0.01, ended=i * 0.01 + 0.001,
                        rows=[[1, 101], [2, 20]] if s.sql.startswith("SELECT") else None)
             for i, s in enumerate(test.steps)]
    verdict = judge(test, Observation(steps, {1: 10, 2: 20}))
    written = TestResult("G1a", "read-committed", None, CELL.read("prevented", "claimed"), steps,
                         {1: 10, 2: 20}).to_dict()
    read = TestResult.from_dict(json.loads(json.dumps(written)))
    assert verdict.outcome == "anomaly"
    again = read.judged_again(test)
    assert (again.outcome, again.reason) == (verdict.outcome, verdict.reason)


# --------------------------------------------------------------------------- job-monitor


def job(tmp_path: Path, statement: str) -> Path:
    path = tmp_path / "job.json"
    path.write_text(json.dumps({"monitor_duration": 60, "update_interval": 0.3, "show_details": False,
                                "job": statement}))
    return path


def test_job_monitor_four_verdicts(sandbox: SandboxState, tmp_path: Path) -> None:
    env = env_for(sandbox)
    sql(sandbox, "DROP TABLE IF EXISTS rig_verdict_jobs", "CREATE TABLE rig_verdict_jobs (id INT PRIMARY KEY)",
        "INSERT INTO rig_verdict_jobs VALUES (1), (2), (3)")
    monitor = ["job-monitor", "--no-show-details", "--no-password-prompt"]
    # passed: the monitor's own statement completes (its connection says so)
    out = Outputs.under(tmp_path, "passed")
    r = run_cli(*monitor, "--import-config", str(job(tmp_path, "ALTER TABLE rig_verdict_jobs ENGINE=InnoDB, "
                                                             "ALGORITHM=COPY")),
                "--until-done", *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "passed"), "passed", "every check passed")
    assert [j["status"] for j in data["jobs"]] == ["finished"]  # type: ignore[union-attr,index]
    assert data["exit_status"] == 0
    [finished] = data["jobs"]  # type: ignore[misc]
    cases = [c.get("name") for c in ET.parse(out.junit).getroot().iter("testcase")]
    assert cases == [f"statement {finished['id']} on test.rig_verdict_jobs"]
    # failed: the statement fails on the server; the reason names the job and the server's error
    out = Outputs.under(tmp_path, "failed")
    r = run_cli(*monitor, "--import-config", str(job(tmp_path, "ALTER TABLE rig_verdict_nosuch ADD COLUMN x INT")),
                "--until-done", *out.args(), env=env)
    data = json.loads(out.json.read_text())
    [failed] = data["jobs"]
    reason = f"statement {failed['id']} on test.rig_verdict_nosuch failed ({failed['final']['message']})"
    assert "1146" in reason and "rig_verdict_nosuch" in reason
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "failed"), "failed", reason)
    assert (data["exit_status"], data["error"]) == (1, reason)
    # undecided: --until-done, and no job ever appeared (exit 3, the monitor's own status for it)
    out = Outputs.under(tmp_path, "undecided")
    r = run_cli(*monitor, "--until-done", "-t", "1", "--update-interval", "0.3", *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "undecided"), "undecided",
                        "the monitor duration of 1 s ran out: no job appeared in time", own_status=3)
    assert (r.returncode, data["exit_status"], data["jobs"]) == (3, 3, [])
    assert "no job appeared in time" in r.stdout
    # interrupted: SIGTERM while it watches; its JSON says the status it exits with
    out = Outputs.under(tmp_path, "interrupted")
    run = RunningCli(*monitor, "-t", "60", "--update-interval", "0.3", *out.args(), env=env)
    run.wait_for("no job running")
    run.proc.send_signal(signal.SIGTERM)
    status = run.finish()
    data = assert_agree(out, status, last_line("".join(run.stdout), "".join(run.stderr), "interrupted"),
                        "interrupted", "interrupted by SIGTERM")
    assert (status, data["exit_status"], data["interrupted_by"]) == (143, 143, "SIGTERM")


# --------------------------------------------------------------------------- gen-data


def test_gen_data_verdicts(sandbox: SandboxState, tmp_path: Path) -> None:
    """gen-data passes, fails and is interrupted; it has no undecided run: a file is written whole or not at
    all, and a load's row count is exact or the load is refused."""
    env = env_for(sandbox)
    # passed: a file, then a load of it
    out = Outputs.under(tmp_path, "passed")
    r = run_cli("gen-data", "--rows", "100", "-o", str(tmp_path / "p.csv"), "--table", "rig_verdict_gen", "--load",
                "--replace", "--no-password-prompt", *out.args(), env=env)
    data = assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "passed"), "passed", "every check passed")
    assert data["table_state"] == "test.rig_verdict_gen holds the 100 new rows."
    cases = [c.get("name") for c in ET.parse(out.junit).getroot().iter("testcase")]
    assert cases == ["generate 100 rows", "load into rig_verdict_gen"]
    # failed: the server refuses the load (a user who may read but not create tables); the table is untouched
    sql(sandbox, "DROP USER IF EXISTS 'rig_readonly'@'%'", "CREATE USER 'rig_readonly'@'%'",
        "GRANT SELECT ON *.* TO 'rig_readonly'@'%'")
    out = Outputs.under(tmp_path, "failed")
    r = run_cli("gen-data", "--rows", "100", "-o", str(tmp_path / "f.csv"), "--table", "rig_verdict_gen_f", "--load",
                "--no-password-prompt", *out.args(), env={**env, "TIDB_USER": "rig_readonly"})
    data = json.loads(out.json.read_text())
    reason = str(data["reason"])
    assert reason.startswith("the load failed: ") and "(1142)" in reason
    assert reason.endswith("; test.rig_verdict_gen_f was not created; nothing was loaded")
    assert_agree(out, r.returncode, last_line(r.stdout, r.stderr, "failed"), "failed", reason)
    assert r.stderr == "" and "Traceback" not in r.stdout
    # interrupted: SIGINT while the file is written; no file is left that looks complete
    out = Outputs.under(tmp_path, "interrupted")
    big = tmp_path / "big" / "b.csv"
    big.parent.mkdir()
    run = RunningCli("gen-data", "--rows", "10000000", "-o", str(big), *out.args())
    deadline = time.monotonic() + 30
    while not list(big.parent.glob(".b.csv.*.partial")):  # the write has begun
        assert time.monotonic() < deadline and run.proc.poll() is None, run.output()
        time.sleep(0.02)
    run.proc.send_signal(signal.SIGINT)
    status = run.finish()
    assert_agree(out, status, last_line("".join(run.stdout), "".join(run.stderr), "interrupted"), "interrupted",
                 "interrupted by SIGINT")
    assert list(big.parent.iterdir()) == []


# --------------------------------------------------------------------------- report


def test_report_renders_a_command_it_has_no_section_for(tmp_path: Path) -> None:
    """A settled result (outcome and reason, as every report has since results.settle) of a command the renderer
    has no section for, such as a newer one, gets the shared frame and its fields as facts, not a refusal."""
    result, page = tmp_path / "h.json", tmp_path / "h.html"
    result.write_text(json.dumps({"command": "soak", "ok": False, "complete": True, "outcome": "failed",
                                  "reason": "2 findings", "error": "2 findings",
                                  "findings": [{"oracle": "tlp", "sql": "SELECT 1 < 2"}]}))
    r = run_cli("report", str(result), "--html", str(page))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"report written to {page}\n", "")
    assert banner(page) == ("failed", "FAILED: 2 findings")
    text = page.read_text()
    assert "<table class='facts' id='payload'>" in text and "SELECT 1 &lt; 2" in text


def test_report_refuses_a_bad_output_before_reading_anything(tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.json"
    r = run_cli("report", str(missing), "--html", "/proc/nope/x.html")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == ("error: --html /proc/nope/x.html cannot be written (No such file or directory); choose "
                        "another path.\n")


# --------------------------------------------------------------------------- words, not Python values


@pytest.mark.parametrize(("content", "said"), [
    ('{"database": {"timeout_secs": null}}', "key database.timeout_secs: database.timeout_secs input should be a "
                                             "valid number (got null)"),
    ('{"session_variables": {"a": [1, 2]}}', "key session_variables: session_variables.a should be a boolean (true "
                                             "or false), a whole number, a number or a string."),
    ('{"connections": [{"name": null}]}', "key connections: connections[0].name input should be a valid string "
                                          "(got null)"),
    ('{"database": 5}', "key database: database input should be a valid dictionary (got 5)."),
])
def test_configuration_errors_are_words(tmp_path: Path, content: str, said: str) -> None:
    cfg = tmp_path / "c.json"
    cfg.write_text(content)
    r = run_cli("show-config", "-c", str(cfg))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith(f"error: Invalid configuration: file {cfg}, {said}")
    for python in ("None", "instance of", ".bool", ".0."):
        assert python not in r.stderr


# --------------------------------------------------------------------------- options that would be ignored


@pytest.mark.parametrize(("option", "flag"), [(["-H", "127.0.0.1:1"], "-H/--host"),
                                              (["-d", "nosuchdb"], "-d/--database"), (["-u", "someone"], "-u/--user")])
def test_gen_data_refuses_connection_options_without_load(tmp_path: Path, option: list[str], flag: str) -> None:
    out = tmp_path / "d.csv"
    r = run_cli("gen-data", "--rows", "10", "-o", str(out), *option)
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == (f"error: {flag} has no effect without --load (gen-data alone connects to nothing); add "
                        f"--load or leave {flag.split('/')[-1]} out.\n")
    assert list(tmp_path.iterdir()) == []


def test_isolation_says_database_is_ignored(sandbox: SandboxState) -> None:
    r = run_cli("isolation", "-d", "nosuchdb", "--isolation-level", "serializable", "--test", "G0",
                "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == ("note: -d/--database is ignored: isolation runs in a schema of its own "
                                        "(rig_iso_...), dropped at the end")
    assert r.stdout.splitlines()[-1] == "PASSED: every check passed"


def test_a_report_shows_no_python_none(tmp_path: Path) -> None:
    """A job without a target, a fault not yet healed and a run without latencies (JSON nulls) read as a dash."""
    result, page = tmp_path / "j.json", tmp_path / "j.html"
    result.write_text(json.dumps({
        "command": "job-monitor", "ok": True, "complete": True, "exit_status": 0, "gaps": [], "jobs": [
            {"id": "7", "kind": "statement", "source": "processlist", "target": None, "status": "finished",
             "samples": [{"t": 0.1, "progress": None, "rows": None, "bytes": None, "status": "finished"}],
             "final": {"message": None}}]}))
    r = run_cli("report", str(result), "--html", str(page))
    assert r.returncode == 0, r.stderr
    text = page.read_text()
    assert "<td>statement 7</td><td>–</td><td>finished</td>" in text
    body = text[text.index("<body>"):]
    assert "None" not in body.replace("Plotly", "")


# --------------------------------------------------------------------------- report: every command's failed and
# interrupted result

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

#: every command that writes --json and talks to a server, with arguments that keep it short
SERVER_COMMANDS = {
    "basic": ["basic"],
    "simple-multi-connection": ["simple-multi-connection", "--connection-count", "2"],
    "multi-connection": ["multi-connection", "--connection-count", "2"],
    "run": ["run", str(EXAMPLES / "readme_handler.py")],
    "bench select-1": ["bench", "select-1", "--duration", "1", "--connections", "1"],
    "isolation": ["isolation"],
    "job-monitor": ["job-monitor", "-t", "5", "--update-interval", "0.5"],
    "elle": ["elle", "list-append", "--duration", "1"],
    "hunt": ["hunt", "--duration", "2"],
    "bench point-select": ["bench", "point-select", "--duration", "1", "--connections", "1"],
    "bench user": ["bench", "user", str(EXAMPLES / "bench_user.py") + ":Shopper", "--duration", "1",
                   "--connections", "1"],
    "bench prepare": ["bench", "prepare", "--table-size", "10"],
    "bench oltp-read-write": ["bench", "oltp-read-write", "--duration", "1", "--connections", "1"],
    "bench cleanup": ["bench", "cleanup"],
    "bench tpcc-prepare": ["bench", "tpcc-prepare"],
    "bench tpcc": ["bench", "tpcc", "--duration", "1", "--connections", "1"],
    "bench tpcc-check": ["bench", "tpcc-check"],
    "bench tpcc-cleanup": ["bench", "tpcc-cleanup"],
}


@pytest.mark.parametrize("command", sorted(SERVER_COMMANDS))
def test_report_renders_every_commands_failed_and_interrupted_result(command: str, tmp_path: Path) -> None:
    """A run that fails (nothing listens on its port; the connect retries give up after 1 s) and one interrupted
    by SIGINT once it has connected to a server that never answers; `test-rig report` renders each JSON to the
    banner of its verdict."""
    import socket

    quick, slow = tmp_path / "quick.toml", tmp_path / "slow.toml"
    # a test timeout far beyond the refused connects' retries: under load they can take more than a second or two
    quick.write_text("[database]\ntimeout_secs = 1\n[test]\ntimeout_secs = 30\n")
    slow.write_text("[database]\ntimeout_secs = 60\n[test]\ntimeout_secs = 60\n")
    failed, interrupted = tmp_path / "failed.json", tmp_path / "interrupted.json"
    r = run_cli(*SERVER_COMMANDS[command], "-c", str(quick), "-H", "127.0.0.1:1", "--no-password-prompt", "--json",
                str(failed), timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts connections, never sends a greeting
        silent.settimeout(60)
        run = RunningCli(*SERVER_COMMANDS[command], "-c", str(slow), "-H", f"127.0.0.1:{silent.getsockname()[1]}",
                         "--no-password-prompt", "--json", str(interrupted))
        connection, _ = silent.accept()  # the event: the run is connecting, waiting for the server's greeting
        with connection:
            run.proc.send_signal(signal.SIGINT)
            assert run.finish() == 130 and "Traceback" not in run.output()
    # A run that never reached its server failed; job-monitor's observed nothing, which is undecided.
    refused = "undecided" if command == "job-monitor" else "failed"
    for result, expected in ((failed, (refused,)), (interrupted, ("interrupted",))):
        data = json.loads(result.read_text())
        assert data["command"] == command and data["ok"] is False
        page = result.with_suffix(".html")
        r = run_cli("report", str(result), "--html", str(page))
        assert (r.returncode, r.stdout, r.stderr) == (0, f"report written to {page}\n", "")
        verdict, text = banner(page)
        assert verdict in expected and verdict == data.get("outcome", verdict), (command, result.name)
        assert text.startswith(BANNER_START[verdict]) and "None" not in text
        body = page.read_text()
        assert "None" not in body[body.index("<body>"):], (command, result.name)  # a value the run never had
        # nor a table of nothing (a header row, or no row at all): a run that never began has nothing to tabulate
        empty = re.findall(r"<table[^>]*>\s*(?:<tr>(?:<th>[^<]*</th>)*</tr>)?\s*</table>", body)
        assert empty == [], (command, result.name)
