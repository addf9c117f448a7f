"""--processes on data: how connections and the query bound are split, and how the processes' runs merge
(statistics added, one bug found in two processes one group with both counts, databases listed, a process
that left a database or did not finish makes the merged run say so)."""

from __future__ import annotations

import pytest

from test_rig.errors import UsageError
from test_rig.hunt.finding import Finding
from test_rig.hunt.processes import merge, shares
from test_rig.hunt.runner import HuntRun, HuntSpec

SERVER = {"kind": "mariadb", "version": "10.11.19-MariaDB"}


def test_connections_and_queries_are_split_over_the_processes() -> None:
    assert shares(5, 2, 1000) == [(3, 0, 600), (2, 3, 400)]
    assert shares(2, 2, None) == [(1, 0, None), (1, 1, None)]
    assert shares(3, 3, 2) == [(1, 0, 1), (1, 1, 1), (1, 2, 1)]
    with pytest.raises(UsageError, match=r"^--processes 3 is more than --connections 2; "):
        shares(2, 3, None)


def part(first: int, checked: int, finding_ids: list[str], *, dropped: bool = True, complete: bool = True) -> HuntRun:
    spec = HuntSpec(("tlp-where",), connections=1, processes=2, first_worker=first)
    databases = [f"rig_hunt_x{first}_w{first}", f"rig_hunt_x{first}_w{first}_r"]
    run = HuntRun(spec, server=SERVER, databases=databases, left=[] if dropped else databases[:1],
                  complete=complete)
    run.stats.checked["tlp-where"] = checked
    run.stats.statements, run.stats.candidates, run.stats.confirmed = checked * 3, len(finding_ids), len(finding_ids)
    run.stats.errors_by_code[1292] = first + 1
    for sig_id in finding_ids:
        run.findings[sig_id] = Finding("wrong-result", "tlp-where", SERVER, 0, first, "d", [f"SELECT {first}"],
                                       statements=[f"CREATE TABLE t{first} (c0 INT)"], signature=f"sig-{sig_id}",
                                       signature_id=sig_id)
    return run


def test_two_processes_merge_into_sums_and_one_group_per_bug() -> None:
    a, b = part(0, 100, ["h1", "h2"]), part(1, 50, ["h2"])
    a.findings["h2"].add(["CREATE TABLE t0 (c0 INT)"], ["SELECT 0"])  # seen twice in process 0, in one shape
    run = merge(HuntRun(HuntSpec(("tlp-where",), connections=2, processes=2)), [a, b])
    assert (run.stats.checked["tlp-where"], run.stats.statements, run.stats.confirmed) == (150, 450, 3)
    assert run.stats.errors_by_code[1292] == 3
    assert sorted(run.findings) == ["h1", "h2"]
    h2 = run.findings["h2"]
    assert (h2.count, len(h2.shapes), h2.worker) == (3, 2, 0)  # the first process's case is kept
    assert a.findings["h2"].count == 2  # the parts are left as they were
    assert run.databases == a.databases + b.databases
    assert (run.dropped, run.complete, run.error) == (True, True, None)
    assert [p["checked_total"] for p in run.parts] == [100, 50] and [p["finds"] for p in run.parts] == [3, 1]


def test_a_process_that_left_a_database_or_stopped_early_shows_in_the_merge() -> None:
    a, b = part(0, 10, []), part(1, 10, [], dropped=False)
    run = merge(HuntRun(HuntSpec(("tlp-where",), connections=2, processes=2)), [a, b])
    assert (run.dropped, run.complete) == (False, True)
    run = merge(HuntRun(HuntSpec(("tlp-where",), connections=2, processes=2)), [a])  # one process never reported
    assert (run.dropped, run.complete) == (True, False)
    c = part(1, 10, [], complete=False)
    c.error = "the server stopped answering"
    run = merge(HuntRun(HuntSpec(("tlp-where",), connections=2, processes=2)), [a, c])
    assert (run.complete, run.error) == (False, "the server stopped answering")
