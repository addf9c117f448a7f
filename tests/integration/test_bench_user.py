"""`bench user`: the user's own Locust-style workload from examples/, on the MariaDB sandbox: split over worker
processes, its per-task figures add up to the totals and to what the server counted; a class whose on_start raises
is refused (exit 2), a task that raises fails the run by name (exit 1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_rig.servers.sandbox import SandboxState
from tests.helpers import create_user, env_for, run_cli, sql_on
from tests.integration.test_report_any import PASSED, rerendered

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bench_user.py"


def _com(st: SandboxState) -> dict[str, int]:
    rows = sql_on(st, "SHOW GLOBAL STATUS WHERE Variable_name IN ('Com_update', 'Com_commit')")[0]
    return {str(name): int(str(value)) for name, value in rows}


@pytest.fixture(scope="module")
def shop(sandbox: SandboxState) -> Iterator[dict[str, str]]:
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_user", "CREATE DATABASE rig_user")
    env = {**env_for(sandbox), "TIDB_DATABASE": "rig_user"}
    r = run_cli("bench", "prepare", "--table-size", "10000", "--no-password-prompt", env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    yield env
    sql_on(sandbox, "DROP DATABASE IF EXISTS rig_user")


def test_example_on_two_processes_adds_up(sandbox: SandboxState, shop: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "u.json"
    before = _com(sandbox)
    r = run_cli("bench", "user", f"{EXAMPLE}:Shopper", "--connections", "4", "--processes", "2", "--duration", "2",
                "--no-password-prompt", "--json", str(out), env=shop)
    after = _com(sandbox)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "PASSED: every check passed"
    data = json.loads(out.read_text())
    tasks = data["tasks"]
    assert list(tasks) == ["browse", "search", "buy"] and data["processes"] == 2
    assert data["user_class"] == f"{EXAMPLE}:Shopper"  # as given, not the generated test_rig_plugin_... module
    assert sum(t["count"] for t in tasks.values()) == data["operations"] > 0
    assert sum(t["errors"] for t in tasks.values()) == data["errors"] == 0
    assert data["operations"] == sum(w["operations"] for w in data["workers"])
    # buy is one UPDATE and one COMMIT: the server counted exactly as many
    assert after["Com_update"] - before["Com_update"] == tasks["buy"]["count"]
    assert after["Com_commit"] - before["Com_commit"] == tasks["buy"]["count"]
    assert tasks["browse"]["count"] > tasks["search"]["count"] > tasks["buy"]["count"]  # weights 6, 3, 1
    assert rerendered(out) == PASSED


def test_a_failing_on_start_or_task_is_named(shop: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("from test_rig.load.user import User, task\n\n"
                      "class NoCart(User):\n    async def on_start(self, conn):\n        raise KeyError('cart')\n\n"
                      "    @task\n    async def look(self, conn):\n        await conn.fetch('SELECT 1')\n\n"
                      "class BadReview(User):\n    @task(3)\n    async def look(self, conn):\n"
                      "        await conn.fetch('SELECT 1')\n\n"
                      "    @task\n    async def review(self, conn):\n        assert False, 'stars out of range'\n")
    for spread in ([], ["--processes", "2"]):  # refused before the load, so before any worker process starts
        r = run_cli("bench", "user", f"{broken}:NoCart", "--connections", "2", "--duration", "1", *spread,
                    "--no-password-prompt", env=shop)
        assert r.returncode == 2, r.stdout + r.stderr
        assert r.stderr.strip() == "error: NoCart.on_start raised KeyError: 'cart'; fix the workload and run again."
        assert "load started" not in r.stdout
    out = tmp_path / "f.json"
    r = run_cli("bench", "user", f"{broken}:BadReview", "--connections", "2", "--duration", "1",
                "--no-password-prompt", "--json", str(out), env=shop)
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(out.read_text())
    review = data["tasks"]["review"]
    assert review["count"] == 0 and review["errors_by_code"] == {"AssertionError": review["errors"]}
    assert data["error"] == f"task review failed {review['errors']} times: AssertionError: stars out of range"
    assert r.stdout.splitlines()[-1] == f"FAILED: {data['error']}"
    r = run_cli("bench", "user", f"{broken}:Nope", "--no-password-prompt", env=shop)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"error: Workload {broken} has no class 'Nope' (User classes there: NoCart, "
                                "BadReview); check the name.")


def test_example_under_the_nemesis(shop: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "n.json"
    r = run_cli("bench", "user", f"{EXAMPLE}:Shopper", "--connections", "2", "--duration", "2.5", "--nemesis",
                "kill-connections", "--nemesis-interval", "1", "--no-password-prompt", "--json", str(out), env=shop)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(out.read_text())
    assert data["outcome"] == "passed" and len(data["nemesis"]["windows"]) == 2 and data["reconnects"] > 0
    assert sum(t["errors"] for t in data["tasks"].values()) == data["errors"] > 0
    assert sum(t["count"] for t in data["tasks"].values()) == data["operations"]


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_task_that_prints_the_password_shows_it_masked_from_every_process(
        sandbox: SandboxState, shop: dict[str, str], tmp_path: Path, processes: str) -> None:
    """A worker process's console scrubs the run's secrets as the parent's does; it showed the password of a task
    that printed or logged it once per operation from each worker (found by an audit)."""
    secret = "Leak-S3cret-4417"
    create_user(sandbox, "rig_leaky", secret)
    leaky = tmp_path / "leaky.py"
    leaky.write_text("import logging\n\nfrom test_rig.load.user import User, task\n\n"
                     "class Leaky(User):\n    @task\n    async def look(self, conn):\n"
                     "        await conn.fetch('SELECT 1')\n"
                     f"        print('print {secret}')\n"
                     f"        logging.getLogger('leaky').warning('log {secret}')\n")
    env = {**shop, "TIDB_USER": "rig_leaky", "TIDB_PASSWORD": secret}
    out = tmp_path / "u.json"
    r = run_cli("bench", "user", f"{leaky}:Leaky", "--connections", "2", "--processes", processes, "--duration", "1",
                "--json", str(out), env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert secret not in r.stdout + r.stderr + out.read_text()
    assert "print ********" in r.stdout and "log ********" in r.stderr
