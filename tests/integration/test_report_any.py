"""`test-rig report` renders the JSON of every command, its banner follows the result's own verdict (never
green for a result that is not a pass), its output path is checked before any work; JUnit times are real;
a host given with credentials (`-H user:password@host:port`) is refused without echoing the password."""

from __future__ import annotations

import html
import json
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import browse, env_for, run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def banner(page: Path) -> tuple[str, str]:
    """(data-verdict, text) of the status banner at the top of an HTML report."""
    found = re.search(r'<div class="banner [a-z]+" id="status" data-verdict="([a-z]+)">(.*?)</div>', page.read_text())
    assert found, "no status banner"
    return found.group(1), html.unescape(found.group(2))


def report(result: Path, page: Path) -> None:
    r = run_cli("report", str(result), "--html", str(page))
    assert (r.returncode, r.stdout, r.stderr) == (0, f"report written to {page}\n", "")


def rerendered(result: Path) -> tuple[str, str]:
    """The banner of the page `test-rig report` renders from a command's --json `result` (beside it)."""
    page = result.with_name(result.stem + "-again.html")
    report(result, page)
    return banner(page)


#: The banner of a result that passed.
PASSED = ("passed", "PASSED: every check passed.")


def history(sandbox: SandboxState, tmp_path: Path, *extra: str) -> Path:
    h = tmp_path / "h.jsonl"
    r = run_cli("elle", "list-append", "--duration", "1", "--history", str(h), *extra, "--no-password-prompt",
                env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    return h


#: command → (its arguments, a script returning what the page shows, what the JSON says it should be)
CASES = {
    "basic": ([], "() => document.querySelectorAll('table.states tr').length - 1", lambda d: len(d["states"])),
    "simple-multi-connection": (["--connection-count", "2"], "() => document.querySelectorAll('#runs tr').length - 1",
                                lambda d: len(d["connections"])),
    "run": ([str(EXAMPLES / "readme_handler.py")], "() => document.querySelectorAll('#runs tr').length - 1",
            lambda d: len(d["results"])),
    "gen-data": (["--rows", "100", "-o", "{tmp}/d.csv", "--table", "rig_report_any", "--load", "--replace"],
                 "() => document.querySelector('#loaded').textContent",
                 lambda d: "".join(f"{k}{'' if v is None else v}" for k, v in d["loaded"].items())),
    "bench select-1": (["--duration", "2", "--connections", "2"],
                       "() => document.getElementById('throughput').data[0].y", lambda d: [t["ops"] for t in
                                                                                           d["timeline"]]),
    "check": (["{history}", "--workload", "list-append"], "() => document.querySelector('h2').textContent",
              lambda d: "History: valid under serializable"),
}


@pytest.mark.parametrize("command", sorted(CASES))
def test_report_renders_every_commands_result(command: str, sandbox: SandboxState, tmp_path: Path) -> None:
    args, shown, expected = CASES[command]
    fill = {"tmp": str(tmp_path), "history": str(history(sandbox, tmp_path)) if command == "check" else ""}
    out, page = tmp_path / "r.json", tmp_path / f"report-any-{command.replace(' ', '-')}.html"
    quiet = [] if command == "check" else ["--no-password-prompt"]  # check connects to nothing
    r = run_cli(*command.split(), *(a.format(**fill) for a in args), "--json", str(out), *quiet,
                env=env_for(sandbox), timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    report(out, page)
    assert banner(page) == ("passed", "PASSED: every check passed.")
    seen = browse(page, evaluate=shown)
    assert seen["errors"] == [] and seen["requests"] == [] and seen["blank"] is False
    assert seen["value"] == expected(data)


def test_the_banner_follows_the_results_own_verdict(sandbox: SandboxState, tmp_path: Path) -> None:
    """A repeatable-read list-append on MariaDB is invalid (lost updates, G-single); neither that nor any other
    result that is not a pass shows the green banner, whatever its "ok" says."""
    out = tmp_path / "rr.json"
    r = run_cli("elle", "list-append", "--duration", "3", "--keys", "3", "--isolation-level", "repeatable-read",
                "--json", str(out), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode in (0, 1), r.stdout + r.stderr
    invalid = json.loads(out.read_text())
    assert invalid["valid"] is False and invalid["anomaly_types"]
    kinds = ", ".join(invalid["violations"])  # what makes it invalid under the model (not the allowed ones)
    failed = ("failed", f"FAILED: the history is invalid under repeatable-read: {kinds}")
    checked = json.loads(out.read_text())
    for key in ("ok", "complete", "error", "server", "timeline", "isolation_level", "session_variables",
                "errors_by_code"):
        checked.pop(key, None)
    checked["command"] = "check"  # what `check` writes for the same history: no "ok" at all
    variants = {
        "as written": (invalid, failed),
        "ok true although invalid": ({**invalid, "ok": True}, failed),
        "check of the same history": (checked, failed),
        "history unknown": ({**invalid, "ok": True, "valid": "unknown", "unknown": ["no transaction completed"]},
                            ("undecided", "UNDECIDED: the history could not be judged under repeatable-read: no "
                                          "transaction completed.")),
        "check unknown": ({**checked, "valid": "unknown", "unknown": []},
                          ("undecided", "UNDECIDED: the history could not be judged under repeatable-read.")),
        "interrupted": ({**invalid, "ok": True, "complete": False, "error": "interrupted by SIGINT"},
                        ("interrupted", "INTERRUPTED: interrupted by SIGINT — what follows is what it saw "
                                        "until then.")),
        "ok false without a history": ({"command": "gen-data", "ok": False, "complete": True,
                                        "error": "the load gave 7 rows, expected 10"},
                                       ("failed", "FAILED: the load gave 7 rows, expected 10")),
        "says nothing": ({"command": "basic", "complete": True},
                         ("undecided", "UNDECIDED: the result does not say whether the run passed.")),
        "undecided isolation checks": ({"command": "isolation", "ok": True, "complete": True, "undecided": 2,
                                        "results": []},
                                       ("undecided", "UNDECIDED: 2 checks could not be decided.")),
    }
    for name, (data, expected) in variants.items():
        result, page = tmp_path / "v.json", tmp_path / "v.html"
        result.write_text(json.dumps(data))
        report(result, page)
        assert banner(page) == expected, name


def test_a_failed_select_1_run_writes_its_html(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\ntimeout_secs = 1\n")
    out, page = tmp_path / "s.json", tmp_path / "s.html"
    r = run_cli("bench", "select-1", "-c", str(cfg), "-H", "127.0.0.1:1", "--duration", "1", "--json", str(out),
                "--html", str(page), "--no-password-prompt")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    error = json.loads(out.read_text())["error"]
    assert banner(page) == ("failed", f"FAILED: {error}")  # stopped by an error, not by a signal


def test_report_checks_its_paths_before_any_work(tmp_path: Path) -> None:
    result = tmp_path / "r.json"
    result.write_text('{"command": "basic", "ok": true, "complete": true, "states": []}')
    r = run_cli("report", str(result), "--html", "/proc/nope/x.html")
    assert (r.returncode, r.stdout) == (2, "")
    assert r.stderr == ("error: --html /proc/nope/x.html cannot be written (No such file or directory); choose "
                        "another path.\n")
    r = run_cli("report", str(result), "--html", str(result))
    assert r.returncode == 2
    assert r.stderr == f"error: --html {result} is the result file itself; choose another name for the report.\n"
    assert json.loads(result.read_text())["command"] == "basic"
    alien = tmp_path / "alien.json"
    alien.write_text('{"command": "frobnicate", "ok": true}')
    r = run_cli("report", str(alien), "--html", str(tmp_path / "a.html"))
    assert r.returncode == 2
    assert r.stderr == (f"error: {alien} is a result of 'frobnicate', which is not a test-rig command; give a file "
                        "written by the --json of basic, simple-multi-connection, multi-connection, run, isolation, "
                        "bench, elle, check, job-monitor, gen-data, hunt.\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alien.json", "r.json"]


def test_junit_times_are_the_real_durations(sandbox: SandboxState, tmp_path: Path) -> None:
    junit = tmp_path / "e.xml"
    r = run_cli("elle", "list-append", "--duration", "2", "--history", str(tmp_path / "h.jsonl"), "--junit",
                str(junit), "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 0, r.stdout + r.stderr
    [case] = ET.parse(junit).getroot().iter("testcase")
    assert 2.0 <= float(case.get("time", "0")) < 60
    [suite] = ET.parse(junit).getroot().iter("testsuite")
    assert suite.get("time") == case.get("time")
    # A run that failed before its result (stopped by an error, so a failure, not an error case as for an
    # interrupted or undecided run): the case lasts as long as the run did (1 s of connect retries).
    cfg = tmp_path / "c.toml"
    cfg.write_text("[database]\ntimeout_secs = 1\n")
    failed = tmp_path / "f.xml"
    began = time.monotonic()
    r = run_cli("bench", "select-1", "-c", str(cfg), "-H", "127.0.0.1:1", "--duration", "1", "--junit", str(failed),
                "--no-password-prompt")
    lasted = time.monotonic() - began
    assert r.returncode == 1
    [case] = ET.parse(failed).getroot().iter("testcase")
    assert case.find("failure") is not None and case.find("error") is None
    # the process's own lifetime until the report (connect retries for up to 1 s included), never a made-up 0
    assert 0.5 <= float(case.get("time", "0")) <= lasted


@pytest.mark.parametrize("where", ["option", "environment", "file"])
def test_a_host_with_credentials_is_refused_without_echoing_them(where: str, sandbox: SandboxState,
                                                                  tmp_path: Path) -> None:
    value = f"root:s3cretpw@127.0.0.1:{sandbox.port}"
    env = {**env_for(sandbox), "TIDB_HOST": value if where == "environment" else f"127.0.0.1:{sandbox.port}"}
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"connections": [{"name": "a", "host": value}]}))
    args = {"option": ["-H", value], "environment": [], "file": ["-c", str(cfg)]}[where]
    out, junit = tmp_path / "o.json", tmp_path / "o.xml"
    for command in (["basic"], ["show-config"]):
        reports = ["--json", str(out), "--junit", str(junit)] if command == ["basic"] else []
        r = run_cli(*command, *args, *reports, "--no-password-prompt" if command == ["basic"] else "-v", env=env)
        source = {"option": "Option -H/--host", "environment": "Environment variable TIDB_HOST",
                  "file": f"File {cfg}, key connections[0].host"}[where]
        assert r.returncode == 2
        assert r.stderr.splitlines()[-1] == (f"error: {source} holds a user or password before '@'; give only "
                                             "HOST:PORT there, the user with -u/--user and the password with "
                                             "--password, TIDB_PASSWORD or the prompt.")
        assert "s3cretpw" not in r.stdout + r.stderr
        assert not out.exists() and not junit.exists()
