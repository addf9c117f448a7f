"""Handler plugins loaded all four ways, the original's README handler, examples, and bad plugins."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from test_rig.sandbox import SandboxState
from tests.helpers import run_cli

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
    '''))
    out = tmp_path / "r.json"
    r = run_cli("run", str(path), "--no-password-prompt", "--json", str(out), env=server_env, timeout=60)
    assert r.returncode == 1
    results = {x["handler"].split(":")[-1]: x for x in json.loads(out.read_text())["results"]}
    assert results["Raises"]["error"] == "Raises raised in state TestingConnection: ValueError: handler exploded"
    assert results["Unknown"]["error"].startswith("Unknown.execute in state TestingConnection returned unknown "
                                                  "state 'NoSuchState'")
    assert results["EndsInError"]["error"] == "the check failed"
    assert [s["state"] for s in results["EndsInError"]["states"]][-2:] == ["TestingConnection", "Error"]
    assert "0 passed, 3 failed" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_run_isolation_example_script(sandbox: SandboxState, server_env: dict[str, str]) -> None:
    import subprocess
    import sys

    script = str(ROOT / "examples" / "run_isolation_test.py")
    rr = subprocess.run([sys.executable, script], env=server_env, capture_output=True, text=True, timeout=60)
    assert rr.returncode == 0, rr.stderr
    assert rr.stdout.strip() == "PREVENTED: T1 read [[10]] then [[10]] after T2 committed 11"
    env = dict(server_env, TIDB_HOST="127.0.0.1:1")
    rc = subprocess.run([sys.executable, script, "--host", f"127.0.0.1:{sandbox.port}", "--isolation-level",
                         "read-committed"], env=env, capture_output=True, text=True, timeout=60)
    assert rc.returncode == 1  # the option beat the environment, and READ COMMITTED shows the anomaly
    assert rc.stdout.strip() == "ANOMALY: T1 read [[10]] then [[11]] after T2 committed 11"
    bad = subprocess.run([sys.executable, script, "--host", "nonsense"], env=server_env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: Invalid configuration: option")
