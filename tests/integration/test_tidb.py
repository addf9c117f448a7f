"""TiDB-specific behaviour, observed on the session's TiDB sandbox (a real tidb-server, unistore engine).

Every outcome asserted here is what this build of TiDB did when the test was written; where it
differs from what the TiDB documentation leads a reader to expect, the README says so.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from test_rig.coordinator import Coordinator, ScriptResult, Step
from test_rig.db import Target, connect
from test_rig.errors import (
    DatabaseError,
    ErrorCategory,
    classify_error,
    is_concurrency_abort,
)
from test_rig.isolation.catalogue import ALL_TESTS
from test_rig.servers.sandbox import Sandbox, SandboxState
from tests.helpers import env_for, run_cli

pytestmark = pytest.mark.tidb
ROOT = Path(__file__).resolve().parents[2]


def target(st: SandboxState, **kw: object) -> Target:
    return Target("t", st.host, st.port, "root", "", "test", **{"timeout_secs": 5, **kw})  # type: ignore[arg-type]


def script(st: SandboxState, steps: Sequence[Step], *, setup: Sequence[str] = (),
           session: Sequence[str] = ()) -> ScriptResult:
    """Run a scripted interleaving on connections A and B after `setup` (on its own connection); each
    lane first runs the `session` statements."""

    async def body() -> ScriptResult:
        admin = await connect(target(st))
        for sql in ("DROP TABLE IF EXISTS tt", "CREATE TABLE tt (id INT PRIMARY KEY, v INT)",
                    "INSERT INTO tt VALUES (1, 10), (2, 20)", *setup):
            await admin.execute(sql)
        await admin.close()
        coordinator = Coordinator([target(st)] * 2, names=["A", "B"], block_window=0.3, script_timeout=20)

        async def prepare(conn: object) -> None:
            for sql in session:
                await conn.execute(sql)  # type: ignore[attr-defined]

        await coordinator.open(prepare=prepare)
        try:
            return await coordinator.run_script(steps)
        finally:
            await coordinator.close()

    return asyncio.run(body())


def final(st: SandboxState) -> dict[int, int]:
    async def q() -> dict[int, int]:
        conn = await connect(target(st))
        rows = await conn.query("SELECT id, v FROM tt ORDER BY id")
        await conn.close()
        return {int(a): int(b) for a, b in rows}

    return asyncio.run(q())


# --------------------------------------------------------------------------- isolation


@pytest.fixture(scope="module")
def tidb_isolation(tidb: SandboxState, tmp_path_factory: pytest.TempPathFactory
                   ) -> tuple[subprocess.CompletedProcess[str], dict, Path]:
    out = tmp_path_factory.mktemp("tidb-iso")
    r = run_cli("isolation", "--no-password-prompt", "--expect", "tidb", "--json", str(out / "i.json"), "--junit",
                str(out / "i.xml"), env=env_for(tidb), timeout=300)
    return r, json.loads((out / "i.json").read_text()), out


def test_isolation_matches_the_tidb_profile(tidb_isolation: tuple[subprocess.CompletedProcess[str], dict, Path]
                                            ) -> None:
    r, data, out = tidb_isolation
    assert r.returncode == 0, "\n".join(data["differences"]) + r.stdout + r.stderr
    assert "every cell that profile tidb states agrees" in r.stdout
    levels = [(x["isolation"], x["txn_mode"]) for x in data["results"][::len(ALL_TESTS)]]
    assert levels == [("read-uncommitted", "pessimistic"), ("read-committed", "pessimistic"),
                      ("read-committed", "optimistic"), ("repeatable-read", "pessimistic"),
                      ("repeatable-read", "optimistic"), ("serializable", "pessimistic")]
    assert data["undecided"] == 0
    skipped = ET.parse(out / "i.xml").getroot().findall(".//skipped")
    assert len(skipped) == 2 * len(ALL_TESTS)


def test_serializable_and_read_uncommitted_are_refused_by_the_server(
        tidb_isolation: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, data, _ = tidb_isolation
    for level in ("serializable", "read-uncommitted"):
        cells = [x for x in data["results"] if x["isolation"] == level]
        assert {x["outcome"] for x in cells} == {"unsupported"}
        assert cells[0]["explanation"] == (
            f"the server refused this level: (8048) `SET SESSION TRANSACTION ISOLATION LEVEL "
            f"{level.replace('-', ' ').upper()}` was refused: The isolation level '{level.upper()}' is not "
            "supported. Set tidb_skip_isolation_level_check=1 to skip this error")


def _readme_tidb_rows() -> dict[str, list[str]]:
    rows: dict[str, list[str]] = {}
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("<!-- tidb-table -->"):text.index("<!-- /tidb-table -->")]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == len(ALL_TESTS) + 1 and set(cells[1:]) <= {"✓", "✗", "–"}:
            rows[cells[0]] = cells[1:]
    return rows


def test_the_readme_tidb_table_is_what_the_run_observes(
        tidb_isolation: tuple[subprocess.CompletedProcess[str], dict, Path]) -> None:
    _, data, _ = tidb_isolation
    mark = {"prevented": "✓", "anomaly": "✗", "unsupported": "–"}
    observed: dict[str, list[str]] = {}
    for x in data["results"]:
        observed.setdefault(f"{x['isolation']} ({x['txn_mode']})", []).append(mark[x["outcome"]])
    assert _readme_tidb_rows() == observed


def test_a_block_on_tidb_is_confirmed_by_tidb_trx(tidb_isolation: tuple[subprocess.CompletedProcess[str], dict, Path]
                                                  ) -> None:
    _, data, _ = tidb_isolation
    g0 = next(x for x in data["results"] if x["test"] == "G0" and x["isolation"] == "repeatable-read"
              and x["txn_mode"] == "pessimistic")
    write = next(s for s in g0["steps"] if s["sql"] == "UPDATE test SET value = 12 WHERE id = 1")
    assert write["blocked"] is True
    assert write["block_evidence"] == "the server reported a lock wait (information_schema.TIDB_TRX STATE LockWaiting)"


# --------------------------------------------------------------------------- errors the live server raises


def test_optimistic_write_conflict_surfaces_only_at_commit(tidb: SandboxState) -> None:
    result = script(tidb, [Step("A", "BEGIN OPTIMISTIC"), Step("B", "BEGIN OPTIMISTIC"),
                           Step("A", "UPDATE tt SET v = 11 WHERE id = 1"),
                           Step("B", "UPDATE tt SET v = 12 WHERE id = 1"),
                           Step("A", "COMMIT"), Step("B", "COMMIT")])
    b_update, b_commit = result.steps[3], result.steps[5]
    assert (b_update.error, b_update.blocked) == (None, False)  # no lock, no conflict yet
    assert result.steps[4].error is None
    assert b_commit.error_code == 9007
    assert b_commit.error is not None and b_commit.error.startswith("Write conflict")
    err = DatabaseError(b_commit.error, code=b_commit.error_code)
    assert classify_error(err) is ErrorCategory.Transient and is_concurrency_abort(9007)
    assert final(tidb) == {1: 11, 2: 20}


def test_pessimistic_deadlock_is_1213(tidb: SandboxState) -> None:
    result = script(tidb, [Step("A", "BEGIN PESSIMISTIC"), Step("B", "BEGIN PESSIMISTIC"),
                           Step("A", "UPDATE tt SET v = 1 WHERE id = 1"), Step("B", "UPDATE tt SET v = 2 WHERE id = 2"),
                           Step("A", "UPDATE tt SET v = 1 WHERE id = 2"), Step("B", "UPDATE tt SET v = 2 WHERE id = 1"),
                           Step("A", "COMMIT"), Step("B", "COMMIT")])
    assert result.steps[4].blocked
    assert result.steps[4].block_evidence == ("the server reported a lock wait (information_schema.TIDB_TRX STATE "
                                              "LockWaiting)")
    assert result.steps[5].error_code == 1213
    assert classify_error(DatabaseError("x", code=1213)) is ErrorCategory.Transient
    assert final(tidb) == {1: 1, 2: 1}


def test_pessimistic_lock_wait_timeout_is_1205(tidb: SandboxState) -> None:
    result = script(tidb, [Step("A", "BEGIN PESSIMISTIC"), Step("B", "BEGIN PESSIMISTIC"),
                           Step("A", "UPDATE tt SET v = 1 WHERE id = 1"), Step("B", "UPDATE tt SET v = 2 WHERE id = 1"),
                           Step("A", "SELECT SLEEP(2)"),  # A holds its lock past B's 1 s lock wait timeout
                           Step("A", "ROLLBACK")], session=["SET SESSION innodb_lock_wait_timeout = 1"])
    assert result.steps[3].blocked
    assert result.steps[3].error_code == 1205
    assert result.steps[3].error == "Lock wait timeout exceeded; try restarting transaction"


def test_an_unsupported_level_is_8048_and_permanent(tidb: SandboxState) -> None:
    async def body() -> DatabaseError:
        conn = await connect(target(tidb))
        try:
            await conn.execute("SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE")
        except DatabaseError as e:
            return e
        finally:
            await conn.close()
        raise AssertionError("SERIALIZABLE was accepted")

    err = asyncio.run(body())
    assert err.code == 8048
    assert classify_error(err) is ErrorCategory.Permanent


def test_select_for_update_in_optimistic_mode_does_not_block_and_conflicts_at_commit(tidb: SandboxState) -> None:
    """The docs describe 8002 for a SELECT FOR UPDATE conflict; on this build (automatic retry cannot be
    turned on) the conflict is the ordinary 9007 at COMMIT."""
    result = script(tidb, [Step("A", "BEGIN OPTIMISTIC"), Step("B", "BEGIN OPTIMISTIC"),
                           Step("A", "SELECT id, v FROM tt WHERE id = 2 FOR UPDATE"),
                           Step("B", "SELECT id, v FROM tt WHERE id = 2 FOR UPDATE"),
                           Step("A", "UPDATE tt SET v = 21 WHERE id = 2"),
                           Step("B", "UPDATE tt SET v = 22 WHERE id = 2"),
                           Step("A", "COMMIT"), Step("B", "COMMIT")])
    assert result.steps[3].blocked is False and result.steps[3].rows == [[2, 20]]
    assert result.steps[6].error is None
    assert result.steps[7].error_code == 9007
    assert final(tidb) == {1: 10, 2: 21}


def test_automatic_retry_cannot_be_turned_on_so_no_update_is_lost(tidb: SandboxState) -> None:
    """With tidb_disable_txn_auto_retry=OFF TiDB would retry an optimistic transaction that conflicts
    and could silently lose an update. This build ignores the setting: the second COMMIT fails."""
    session = ["SET SESSION tidb_disable_txn_auto_retry = OFF", "SET SESSION tidb_retry_limit = 10"]
    result = script(tidb, [Step("A", "SELECT @@tidb_disable_txn_auto_retry, @@tidb_retry_limit"),
                           Step("A", "BEGIN OPTIMISTIC"), Step("B", "BEGIN OPTIMISTIC"),
                           Step("A", "UPDATE tt SET v = v + 1 WHERE id = 1"),
                           Step("B", "UPDATE tt SET v = v + 1 WHERE id = 1"),
                           Step("A", "COMMIT"), Step("B", "COMMIT")], session=session)
    assert result.steps[0].rows == [[1, "10"]]  # still disabled; the retry limit did change
    assert result.steps[6].error_code == 9007
    assert final(tidb) == {1: 11, 2: 20}


def test_a_duplicate_key_is_deferred_to_commit_without_the_in_place_check(tidb: SandboxState) -> None:
    result = script(tidb, [Step("A", "BEGIN PESSIMISTIC"), Step("A", "INSERT INTO tt VALUES (1, 99)"),
                           Step("A", "COMMIT"),
                           Step("B", "BEGIN PESSIMISTIC"), Step("B", "INSERT INTO tt VALUES (1, 99)"),
                           Step("B", "ROLLBACK")],
                    session=["SET SESSION tidb_constraint_check_in_place_pessimistic = OFF"])
    assert result.steps[1].error is None  # the INSERT of an existing key succeeds ...
    assert result.steps[2].error_code == 8141  # ... and COMMIT fails, with an assertion error rather than 1062
    assert result.steps[2].error is not None and result.steps[2].error.startswith("assertion failed")
    assert final(tidb) == {1: 10, 2: 20}
    checked = script(tidb, [Step("A", "BEGIN PESSIMISTIC"), Step("A", "INSERT INTO tt VALUES (1, 99)"),
                            Step("A", "ROLLBACK")])
    assert checked.steps[1].error_code == 1062  # the default: at the INSERT, as in MySQL


# --------------------------------------------------------------------------- faults on a TiDB of its own


@pytest.fixture
def own_tidb(tmp_path: Path) -> Iterator[Sandbox]:
    box = Sandbox(tmp_path / "own-tidb", server="tidb")
    box.start()
    yield box
    box.destroy()


def test_a_server_killed_during_commit_leaves_the_outcome_unknown(own_tidb: Sandbox) -> None:
    st = own_tidb.state()
    assert st is not None

    async def body() -> BaseException:
        conn = await connect(target(st, timeout_secs=30))
        await conn.execute("CREATE TABLE IF NOT EXISTS lost (id INT PRIMARY KEY)")
        await conn.execute("BEGIN")
        await conn.execute("INSERT INTO lost VALUES (1)")
        own_tidb.pause()  # every thread stopped: the COMMIT below reaches a server that cannot answer
        commit = asyncio.create_task(conn.execute("COMMIT"))
        done, _ = await asyncio.wait({commit}, timeout=0.5)
        assert not done, "a paused server answered"
        own_tidb.kill()
        try:
            await commit
        except DatabaseError as e:
            return e
        raise AssertionError("COMMIT returned normally from a killed server")

    err = asyncio.run(body())
    assert getattr(err, "code", None) in (2013, 2006)
    assert classify_error(err) is ErrorCategory.Indeterminate
