"""User workloads (load/user.py) as data: @task records, the class read once, loading errors, the task pick by
weight, the per-task report and its verdict; no database."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from test_rig.coordinator import Worker
from test_rig.errors import DatabaseError, PluginError
from test_rig.load import user
from test_rig.load.user import TaskInfo, User, task, tasks_of


class _Shop(User):
    @task(3)
    async def browse(self, conn: Any) -> None:
        conn.append("browse")

    @task
    async def buy(self, conn: Any) -> None:
        conn.append("buy")

    async def helper(self, conn: Any) -> None:
        raise AssertionError("not a task")


class _MoreShop(_Shop):
    @task(2)
    async def review(self, conn: Any) -> None:
        raise ValueError("stars must be 1..5")


def test_task_records_weights_and_subclasses_inherit_them() -> None:
    assert tasks_of(_Shop) == [TaskInfo(3, "browse"), TaskInfo(1, "buy")]
    assert tasks_of(_MoreShop) == [TaskInfo(3, "browse"), TaskInfo(1, "buy"), TaskInfo(2, "review")]
    with pytest.raises(PluginError, match=r"is not an async def"):
        task(lambda self, conn: None)
    with pytest.raises(PluginError, match=r"@task\(0\) on .*: a weight is a whole number of 1 or more"):
        task(0)(_Shop.browse)


def _run(workload: user.UserWorkload, operations: int, seed: int = 1) -> list[str]:
    done: list[str] = []
    worker = Worker(0, random.Random(seed))

    async def go() -> None:
        for _ in range(operations):
            with contextlib.suppress(DatabaseError):
                await workload(done, worker)
        await workload.worker_done(done, worker)

    asyncio.run(go())
    return done


def test_tasks_are_picked_by_weight_and_counted_under_their_names() -> None:
    workload = user.UserWorkload(_Shop)
    done = _run(workload, 4000)
    picked = Counter(done)
    assert picked["browse"] + picked["buy"] == 4000
    assert 0.72 < picked["browse"] / 4000 < 0.78  # weight 3 of 4
    stats = user.summarize(workload.named_stats(), 2.0)
    assert stats["browse"]["count"] == picked["browse"] and stats["buy"]["count"] == picked["buy"]
    assert stats["buy"]["per_second"] == round(picked["buy"] / 2.0, 1) and stats["buy"]["errors"] == 0


def test_a_task_that_raises_fails_its_operation_and_the_run_by_name() -> None:
    workload = user.UserWorkload(_MoreShop)
    done = _run(workload, 600)
    stats = user.summarize(workload.named_stats(), 1.0)
    review = stats["review"]
    assert review["count"] == 0 and review["errors"] == review["errors_by_code"]["ValueError"] > 0
    assert review["failures"] == ["ValueError: stars must be 1..5"]
    assert len(done) + review["errors"] == 600
    verdict = user.verdict_fields(stats, len(done), with_nemesis=True)
    assert verdict == {"ok": False, "error": f"task review failed {review['errors']} times: ValueError: stars must "
                                             "be 1..5"}


def test_verdict_on_database_errors_and_on_nothing_done() -> None:
    ok = {"count": 5, "errors": 0, "errors_by_code": {}, "failures": []}
    hit = {"count": 5, "errors": 2, "errors_by_code": {"2013": 2}, "failures": []}
    assert user.verdict_fields({"a": ok, "b": hit}, 10, with_nemesis=True) == {"ok": True}
    assert user.verdict_fields({"a": ok, "b": hit}, 10, with_nemesis=False) == {
        "ok": False, "error": "tasks failed with database errors (b 2): 2013 ×2"}
    # the server's own words for each code, when the run kept them
    lost = {"2013": "Lost connection to server during query"}
    assert user.verdict_fields({"a": ok, "b": hit}, 10, with_nemesis=False, messages=lost) == {
        "ok": False,
        "error": "tasks failed with database errors (b 2): 2013 ×2: Lost connection to server during query"}
    assert user.verdict_fields({"a": {**ok, "count": 0}}, 0, with_nemesis=False) == {
        "ok": None, "undecided": 1, "unknown": ["no task completed during the run: nothing was measured"]}
    assert user.verdict_fields({"a": ok}, 5, False, {"Shop.on_stop raised KeyError: 'x'": 2}) == {
        "ok": False, "error": "Shop.on_stop raised KeyError: 'x' (2 of the users)"}


def test_a_start_that_fails_during_the_run_is_counted_and_fails_it() -> None:
    class Flaky(User):
        async def on_start(self, conn: Any) -> None:
            raise KeyError("customer")

        @task
        async def t(self, conn: Any) -> None:
            conn.append("t")

    workload = user.UserWorkload(Flaky)
    assert _run(workload, 2) == []  # neither operation ran a task; the second waited a tenth of a second first
    named = workload.named_stats()
    assert named["start_failures"] == {"Flaky.on_start raised KeyError: 'customer'": 2}
    assert user.verdict_fields(user.summarize(named, 1.0), 0, False, {}, named["start_failures"]) == {
        "ok": False, "error": "Flaky.on_start raised KeyError: 'customer' (2 times)"}


def test_loading_a_user_class(tmp_path: Path) -> None:
    f = tmp_path / "shop.py"
    f.write_text("from test_rig.load.user import User, task\n\nclass A(User):\n    @task\n    async def t(self, c):\n"
                 "        pass\n\nclass B(A):\n    pass\n\nclass Empty(User):\n    pass\n")
    assert user.load_user(f"{f}:B").__name__ == "B"
    with pytest.raises(PluginError, match=r"holds 3 User classes \(A, B, Empty\); name one as .*shop.py:Class"):
        user.load_user(str(f))
    with pytest.raises(PluginError, match=r"has no class 'C' \(User classes there: A, B, Empty\)"):
        user.load_user(f"{f}:C")
    with pytest.raises(PluginError, match=r"Empty has no tasks; mark its coroutine methods with @task"):
        user.load_user(f"{f}:Empty")
    with pytest.raises(PluginError, match=r"^Workload file nope.py does not exist"):
        user.load_user("nope.py")
    with pytest.raises(PluginError, match=r"'no-such-workload' is not a file, file.py:Class, module:Class"):
        user.load_user("no-such-workload")
    # a directory exists: it was said not to; a file that fails to import is a workload file, not a plugin file
    for given in (str(tmp_path), f"{tmp_path}:A"):
        with pytest.raises(PluginError) as info:
            user.load_user(given)
        assert info.value.message == (f"Workload file {tmp_path} is a directory; give a .py file, file.py:Class or "
                                      "module:Class.")
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n")
    with pytest.raises(PluginError, match=r"^Workload file .*broken.py failed to import: SyntaxError"):
        user.load_user(str(broken))


def test_loading_module_colon_class(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rig_shop_module.py").write_text("from test_rig.load.user import User, task\n\nclass Shop(User):\n"
                                                  "    @task(2)\n    async def t(self, c):\n        pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = user.load_user("rig_shop_module:Shop")
    assert cls.__name__ == "Shop" and tasks_of(cls) == [TaskInfo(2, "t")]
    with pytest.raises(PluginError, match=r"^Plugin module 'rig_no_such_module' was not found"):
        user.load_user("rig_no_such_module:Shop")
