"""`elle` and `check`: every output tells the one verdict's story (console, JSON, JUnit, HTML banner, exit
status) for a history that is valid, invalid, undecided and a run interrupted; and every input is checked before
the run touches the server."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path
from typing import Any

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import RunningCli, elle_schemas, env_for, run_cli

from .test_check_cli import EDN_G2


def outputs(tmp_path: Path, name: str) -> dict[str, Any]:
    """The four reports of a run named `name`: JSON, the JUnit case's outcome, the HTML banner's verdict."""
    data = json.loads((tmp_path / f"{name}.json").read_text())
    junit = (tmp_path / f"{name}.xml").read_text()
    outcome = "failure" if "<failure" in junit else "error" if "<error" in junit else "pass"
    html = (tmp_path / f"{name}.html").read_text()
    banner = re.search(r'id="status" data-verdict="([a-z]+)"', html)
    assert banner is not None
    return {"json": data, "junit": outcome, "banner": banner.group(1)}


def reports(tmp_path: Path, name: str) -> list[str]:
    return ["--json", str(tmp_path / f"{name}.json"), "--junit", str(tmp_path / f"{name}.xml"), "--html",
            str(tmp_path / f"{name}.html")]


ONLY_INFOS = ('{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", 1, 1]]}\n'
              '{"index": 1, "process": 0, "type": "info", "f": "txn", "value": [["append", 1, 1]]}\n')


@pytest.mark.parametrize(("content", "args", "status", "valid", "junit", "banner", "console"), [
    (EDN_G2, ["--consistency-model", "snapshot-isolation"], 0, True, "pass", "passed",
     "valid under snapshot-isolation"),
    (EDN_G2, [], 1, False, "failure", "failed", "invalid under serializable"),
    (ONLY_INFOS, ["--workload", "list-append"], 1, "unknown", "error", "undecided", "unknown under serializable"),
], ids=["valid", "invalid", "undecided"])
def test_check_outputs_agree(tmp_path: Path, content: str, args: list[str], status: int, valid: Any, junit: str,
                             banner: str, console: str) -> None:
    history = tmp_path / ("h.edn" if content is EDN_G2 else "h.jsonl")
    history.write_text(content)
    r = run_cli("check", str(history), *args, *reports(tmp_path, "c"))
    seen = outputs(tmp_path, "c")
    assert r.returncode == status, r.stdout + r.stderr
    assert r.stdout.startswith(console)
    assert (seen["json"]["valid"], seen["json"]["ok"], seen["junit"], seen["banner"]) == (valid, status == 0, junit,
                                                                                         banner)
    assert 'time="0.000"' not in (tmp_path / "c.xml").read_text()


@pytest.mark.parametrize(("level", "extra", "status", "valid", "junit", "banner"), [
    ("serializable", [], 0, True, "pass", "passed"),
    ("repeatable-read", [], 1, False, "failure", "failed"),  # MariaDB's repeatable read: G-single-item, lost updates
    # read-only sessions: every append fails (1792), the reads see nothing, no transaction depends on another
    ("serializable", ["--session-var", "tx_read_only=1"], 1, "unknown", "error", "undecided"),
], ids=["valid", "invalid", "undecided"])
def test_elle_outputs_agree(sandbox: SandboxState, tmp_path: Path, level: str, extra: list[str], status: int,
                            valid: bool | str, junit: str, banner: str) -> None:
    r = run_cli("elle", "list-append", "--duration", "3", "--keys", "3", "--isolation-level", level, *extra,
                *reports(tmp_path, "e"), "--no-password-prompt", env=env_for(sandbox), timeout=180)
    seen = outputs(tmp_path, "e")
    assert r.returncode == status, r.stdout + r.stderr
    verdict = "valid" if valid is True else "invalid" if valid is False else "unknown"
    assert f"{verdict} under {level}; transactions: " in r.stdout
    assert (seen["json"]["valid"], seen["json"]["ok"], seen["json"]["complete"]) == (valid, valid is True, True)
    assert (seen["junit"], seen["banner"]) == (junit, banner)
    assert r.stdout.rstrip().splitlines()[-1].startswith(banner.upper() + ": ")
    assert elle_schemas(sandbox) == []


def test_an_interrupted_elle_says_so_in_every_output(sandbox: SandboxState, tmp_path: Path) -> None:
    run = RunningCli("elle", "list-append", "--duration", "60", *reports(tmp_path, "i"), "--no-password-prompt",
                     env=env_for(sandbox))
    run.wait_for("   1 s: ")
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130
    seen = outputs(tmp_path, "i")
    assert (seen["json"]["complete"], seen["json"]["ok"]) == (False, False)
    assert (seen["junit"], seen["banner"]) == ("error", "interrupted")
    assert run.output().rstrip().endswith("interrupted by SIGINT")
    assert "".join(run.stdout).rstrip().splitlines()[-1] == "INTERRUPTED: interrupted by SIGINT"


def _read_so_far(pid: int) -> int:
    """Bytes the process has read so far (its /proc io counter): the event that it is reading the history."""
    try:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def test_an_interrupted_check_says_so_in_every_output(tmp_path: Path) -> None:
    """`check` loads no configuration: SIGINT while it reads a long history still gives 130 and the four
    reports, each saying the check did not finish."""
    history = tmp_path / "long.jsonl"
    with history.open("w") as f:  # a serial valid list-append history, long enough to be caught reading it
        for i in range(400_000):
            f.write(f'{{"index":{2 * i},"process":0,"type":"invoke","f":"txn","value":[["append",{i % 50},{i}]]}}\n'
                    f'{{"index":{2 * i + 1},"process":0,"type":"ok","f":"txn","value":[["append",{i % 50},{i}]]}}\n')
    size = history.stat().st_size
    run = RunningCli("check", str(history), *reports(tmp_path, "k"))
    while _read_so_far(run.proc.pid) < size // 4 and run.proc.poll() is None:  # wait until it reads the history
        pass
    assert run.proc.poll() is None, "the check ended before it could be interrupted: " + run.output()
    run.proc.send_signal(signal.SIGINT)
    assert run.finish() == 130
    seen = outputs(tmp_path, "k")
    assert (seen["json"]["complete"], seen["json"]["ok"], seen["json"]["outcome"]) == (False, False, "interrupted")
    assert (seen["junit"], seen["banner"]) == ("error", "interrupted")
    assert run.output().rstrip().endswith("interrupted by SIGINT") and "Traceback" not in run.output()
    # the run's own report (its command, its Environment), and stdout ends with the verdict as every run's does
    assert seen["json"]["command"] == "check"
    assert "".join(run.stdout).rstrip().splitlines()[-1] == "INTERRUPTED: interrupted by SIGINT"


@pytest.mark.parametrize(("args", "message"), [
    (["--history", "/proc/nope/h.jsonl"], "error: --history /proc/nope/h.jsonl cannot be written"),
    (["--json", "/proc/nope/x.json"], "error: --json /proc/nope/x.json cannot be written"),
    (["--consistency-model", "snapshot"], "error: --consistency-model snapshot is not a model Elle knows"),
    (["--session-var", "no_such_variable=1"], "error: --session-var no_such_variable=1 was refused by the server"),
    (["--wfr-keys"], "error: --wfr-keys applies to rw-register only, not list-append."),
], ids=["history-path", "json-path", "model", "session-var", "wfr-keys"])
def test_elle_bad_input_is_refused_before_anything_is_created(sandbox: SandboxState, tmp_path: Path,
                                                               args: list[str], message: str) -> None:
    r = run_cli("elle", "list-append", "--duration", "1", *args, "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith(message) and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert elle_schemas(sandbox) == []


@pytest.mark.parametrize("flag", [["--keys", "3"], ["--max-txn-len", "2"]])
def test_elle_bank_refuses_options_it_has_no_use_for(sandbox: SandboxState, flag: list[str]) -> None:
    r = run_cli("elle", "bank", "--duration", "1", *flag, "--no-password-prompt", env=env_for(sandbox))
    assert r.returncode == 2
    assert r.stderr.startswith(f"error: {flag[0]} does not apply to the bank workload")


def test_elle_names_the_database_option_it_ignores(sandbox: SandboxState, tmp_path: Path) -> None:
    r = run_cli("elle", "list-append", "--duration", "1", "-d", "nosuchdb", "--isolation-level", "serializable",
                "--json", str(tmp_path / "d.json"), "--no-password-prompt", env=env_for(sandbox))
    assert "note: -d/--database is ignored: elle runs in a schema of its own" in r.stdout
    data = json.loads((tmp_path / "d.json").read_text())
    assert r.returncode == (0 if data["valid"] is True else 1)
