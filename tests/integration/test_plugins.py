"""Handler plugins loaded all four ways, the original's README handler, examples, and bad plugins."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

from test_rig.servers.sandbox import SandboxState
from tests.helpers import create_user, run_cli

ROOT = Path(__file__).resolve().parents[2]

PLUGIN = textwrap.dedent('''
    from test_rig import State, StateHandler
    from test_rig_python import PyState, PyStateHandler

    class BaseCheck(StateHandler):
        async def execute(self, ctx):
            rows = await ctx.connection.query("SELECT 7")
            return State.VERIFYING_DATABASE if rows == [(7,)] else State.error("bad")

    class DerivedCheck(BaseCheck):
        pass

    class DeeperCheck(DerivedCheck):
        pass

    class PlainCheck(PyStateHandler):
        def execute(self, context):
            return PyState.completed() if context.connection.execute_query("SELECT 1") == [(1,)] else "Error: x"

    class _Helper(StateHandler):
        pass
''')


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_readme_handler_runs_unchanged(server_env: dict[str, str]) -> None:
    r = run_cli("run", str(ROOT / "examples" / "readme_handler.py"), "--no-password-prompt", env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Entering state with host: 127.0.0.1" in r.stdout
    assert "Executing (attempt 1)" in r.stdout
    assert "Exiting state (total executions: 1)" in r.stdout
    assert "PASS" in r.stdout and "1 passed, 0 failed" in r.stdout


def test_example_handlers(server_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    r = run_cli("run", str(ROOT / "examples" / "python_handlers.py"), "--no-password-prompt", "--json", str(out),
                env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert [x["handler"].split(":")[1] for x in data["results"]] == [
        "ConnectionCheckHandler", "TableRoundTripHandler", "ReconnectCountingHandler"]
    round_trip = data["results"][1]["states"]
    assert [s["state"] for s in round_trip][3:] == ["TestingConnection", "CreatingTable", "PopulatingData",
                                                    "VerifyingResults", "Completed"]
    reconnects = [s["state"] for s in data["results"][2]["states"]]
    assert reconnects.count("Connecting") == 3
    assert "connected 3 times" in r.stdout


def test_file_discovery_finds_subclasses_of_subclasses(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "checks.py", PLUGIN)
    out = tmp_path / "r.json"
    junit = tmp_path / "r.xml"
    r = run_cli("run", str(path), "--no-password-prompt", "--json", str(out), "--junit", str(junit), env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    names = [x["handler"].split(":")[-1] for x in json.loads(out.read_text())["results"]]
    assert names == ["BaseCheck", "DerivedCheck", "DeeperCheck", "PlainCheck"]
    assert junit.read_text().count("<testcase") == 4


def test_file_colon_class(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "checks.py", PLUGIN)
    r = run_cli("run", f"{path}:DeeperCheck", "--no-password-prompt", env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 0 failed" in r.stdout


def test_module_colon_class(server_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path, "my_checks.py", PLUGIN)
    env = dict(server_env, PYTHONPATH=str(tmp_path))
    r = run_cli("run", "my_checks:PlainCheck", "--no-password-prompt", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS my_checks:PlainCheck" in r.stdout


def test_entry_point(server_env: dict[str, str], tmp_path: Path) -> None:
    write(tmp_path, "ep_checks.py", PLUGIN)
    dist = tmp_path / "ep_checks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-checks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[test_rig.handlers]\nderived = ep_checks:DerivedCheck\n")
    env = dict(server_env, PYTHONPATH=str(tmp_path))
    r = run_cli("run", "derived", "--no-password-prompt", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASS ep_checks:DerivedCheck" in r.stdout


def test_directory_suite_in_sorted_order(server_env: dict[str, str], tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    write(suite, "test_b.py", PLUGIN.replace("class PlainCheck", "class PlainCheckB"))
    write(suite, "test_a.py", "from test_rig import State, StateHandler\n"
          "class First(StateHandler):\n    async def execute(self, ctx):\n        return State.COMPLETED\n")
    write(suite, "helper.py", "raise RuntimeError('not a test file, never imported')\n")
    out = tmp_path / "r.json"
    r = run_cli("run", str(suite), "--no-password-prompt", "--json", str(out), env=server_env)
    assert r.returncode == 0, r.stdout + r.stderr
    handlers = [x["handler"].split("/")[-1] for x in json.loads(out.read_text())["results"]]
    assert handlers == ["test_a.py:First", "test_b.py:BaseCheck", "test_b.py:DerivedCheck", "test_b.py:DeeperCheck",
                        "test_b.py:PlainCheckB"]


def test_import_error_is_a_clear_usage_error(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "broken.py", "import no_such_module_anywhere\n")
    r = run_cli("run", str(path), "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert r.stderr == (f"error: Plugin file {path} failed to import: ModuleNotFoundError: No module named "
                        "'no_such_module_anywhere' (line 1); fix the file and run again.\n")


def test_class_not_found(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "checks.py", PLUGIN)
    r = run_cli("run", f"{path}:Missing", "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert r.stderr == (f"error: Plugin {path} has no class 'Missing' (handler classes there: BaseCheck, "
                        "DerivedCheck, DeeperCheck, PlainCheck); check the name after the colon.\n")


def test_missing_module(server_env: dict[str, str]) -> None:
    r = run_cli("run", "nowhere_module:Thing", "--no-password-prompt", env=server_env)
    assert r.returncode == 2
    assert r.stderr.startswith("error: Plugin module 'nowhere_module' was not found")


def test_handler_raising_and_unknown_state_fail_cleanly(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "bad.py", textwrap.dedent('''
        import sys
        from test_rig import StateHandler

        class Raises(StateHandler):
            def execute(self, ctx):
                raise ValueError("handler exploded")

        class Unknown(StateHandler):
            def execute(self, ctx):
                return "NoSuchState"

        class EndsInError(StateHandler):
            def execute(self, ctx):
                return "Error: the check failed"

        class Exits(StateHandler):
            def execute(self, ctx):
                sys.exit(0)

        class ReturnsEmpty(StateHandler):
            def execute(self, ctx):
                return ""

        class Loops(StateHandler):
            def execute(self, ctx):
                return "TestingConnection"

        class Passes(StateHandler):
            def execute(self, ctx):
                return "VerifyingDatabase"
    '''))
    out = tmp_path / "r.json"
    r = run_cli("run", str(path), "--no-password-prompt", "--json", str(out), env=server_env, timeout=60)
    assert r.returncode == 1
    results = {x["handler"].split(":")[-1]: x for x in json.loads(out.read_text())["results"]}
    assert results["Raises"]["error"] == "Raises raised ValueError in state TestingConnection: handler exploded"
    assert results["Unknown"]["error"] == (
        "Unknown.execute in state TestingConnection returned unknown state 'NoSuchState' (known: Completed, "
        "Connecting, Error, GettingVersion, Initial, ParsingConfig, TestingConnection, VerifyingDatabase)")
    assert results["EndsInError"]["error"] == "the check failed"
    assert [s["state"] for s in results["EndsInError"]["states"]][-2:] == ["TestingConnection", "Error"]
    assert results["Exits"]["error"] == ("Exits called sys.exit(0) in state TestingConnection; a handler must return "
                                         "a state or raise an exception, never exit the process")
    assert results["ReturnsEmpty"]["error"] == ("ReturnsEmpty.execute in state TestingConnection returned '', which "
                                                "is not a state (return a State or a state name)")
    assert results["Loops"]["error"] == ("state machine stopped after 1000 iterations without finishing (in "
                                         "TestingConnection)")
    assert results["Passes"]["ok"] is True
    # One FAIL line per failing handler, each on its own line; the looping one's path is cut short.
    fails = [line for line in r.stdout.splitlines() if line.lstrip().startswith("FAIL ")]
    assert len(fails) == 6
    loop_path = next(line for line in r.stdout.splitlines() if "… 991 more states …" in line)
    assert len(loop_path) < 300
    assert "1 passed, 6 failed" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_a_blocking_handler_does_not_hold_the_process(server_env: dict[str, str], tmp_path: Path) -> None:
    path = write(tmp_path, "slow.py", textwrap.dedent('''
        import time
        from test_rig import StateHandler

        class Sleeps(StateHandler):
            def execute(self, ctx):
                time.sleep(100)
                return "VerifyingDatabase"
    '''))
    cfg = tmp_path / "c.toml"
    cfg.write_text("[test]\ntimeout_secs = 3\n")
    started = time.monotonic()
    r = run_cli("run", str(path), "-c", str(cfg), "--no-password-prompt", env=server_env, timeout=60)
    assert r.returncode == 1
    assert "state machine did not finish within 3 s (stuck in state TestingConnection)" in r.stdout
    assert time.monotonic() - started < 3 + 15  # the 3 s timeout, not the handler's 100 s


def test_a_password_in_a_handler_error_is_masked_on_the_console(sandbox: SandboxState, server_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    secret = "Handler-Secret-9931"
    path = write(tmp_path, "leaky.py", textwrap.dedent('''
        from test_rig import StateHandler

        class Leaks(StateHandler):
            def execute(self, ctx):
                raise RuntimeError("could not log in with " + ctx.password)
    '''))
    create_user(sandbox, "leaky", secret)
    env = dict(server_env, TIDB_USER="leaky", TIDB_PASSWORD=secret)
    out = tmp_path / "l.json"
    r = run_cli("run", str(path), "--json", str(out), env=env, timeout=60)
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "could not log in with ********" in r.stdout
    for text in (r.stdout, r.stderr, out.read_text()):
        assert secret not in text
