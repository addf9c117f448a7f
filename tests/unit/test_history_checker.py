"""The list-append checker on small hand-written histories: every anomaly type, a valid variant of each
that must not be flagged, and histories with `info` transactions that must produce no claim."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from test_rig.history.checker import check_list_append
from test_rig.history.model import Op, pair, parse_history

Mop = list[Any]


def history(*txns: tuple[int, str, list[Mop]], overlap: bool = False) -> list[Op]:
    """Transactions one after another (or all invoked before any completes, with `overlap`): each is
    (process, completion type, micro-ops as completed)."""
    ops: list[Op] = []
    clock = itertools.count(1)

    def invoke_value(mops: list[Mop]) -> list[Mop]:
        return [[f, k, None] if f == "r" else [f, k, v] for f, k, v in mops]

    if overlap:
        for p, _, mops in txns:
            ops.append(Op(len(ops), p, "invoke", "txn", invoke_value(mops), next(clock)))
        for p, kind, mops in txns:
            ops.append(Op(len(ops), p, kind, "txn", mops if kind == "ok" else invoke_value(mops), next(clock)))
        return ops
    for p, kind, mops in txns:
        ops.append(Op(len(ops), p, "invoke", "txn", invoke_value(mops), next(clock)))
        ops.append(Op(len(ops), p, kind, "txn", mops if kind == "ok" else invoke_value(mops), next(clock)))
    return ops


def check(ops: list[Op], **kw: Any) -> dict[str, Any]:
    return check_list_append(pair(ops), **kw).to_dict()


def with_dependency(ops: list[Op], f: str = "append") -> list[Op]:
    """The history plus two transactions on a key of their own, one reading what the other wrote: a
    dependency, so that the graph is not empty (a history with none tested nothing: Elle's
    empty-transaction-graph, unknown)."""
    clock = max((o.time for o in ops), default=0)
    read = ["r", "zz", [1] if f == "append" else 1]
    extra = [Op(len(ops), 90, "invoke", "txn", [[f, "zz", 1]], clock + 1),
             Op(len(ops) + 1, 90, "ok", "txn", [[f, "zz", 1]], clock + 2),
             Op(len(ops) + 2, 91, "invoke", "txn", [["r", "zz", None]], clock + 3),
             Op(len(ops) + 3, 91, "ok", "txn", [read], clock + 4)]
    return [*ops, *extra]


def ok(p: int, *mops: Mop) -> tuple[int, str, list[Mop]]:
    return (p, "ok", list(mops))


def a(k: str, v: int) -> Mop:
    return ["append", k, v]


def r(k: str, *vs: int) -> Mop:
    return ["r", k, list(vs)]


CASES: dict[str, tuple[list[Op], list[Op]]] = {
    # name: (history with the anomaly, a valid variant)
    "G0": (history(ok(1, a("x", 1), a("y", 1)), ok(2, a("x", 2), a("y", 2)), ok(3, r("x", 1, 2), r("y", 2, 1))),
           history(ok(1, a("x", 1), a("y", 1)), ok(2, a("x", 2), a("y", 2)), ok(3, r("x", 1, 2), r("y", 1, 2)))),
    "G1c": (history(ok(1, a("x", 1), r("y", 2)), ok(2, a("y", 2), r("x", 1)), overlap=True),
            history(ok(1, a("x", 1), r("y")), ok(2, a("y", 2), r("x", 1)))),
    "G-single-item": (history(ok(1, a("x", 1), a("y", 1)), ok(2, a("x", 2), a("y", 2)), ok(3, r("x", 1), r("y", 1, 2)),
                         ok(4, r("x", 1, 2))),
                 history(ok(1, a("x", 1), a("y", 1)), ok(2, a("x", 2), a("y", 2)), ok(3, r("x", 1, 2), r("y", 1, 2)))),
    "G-nonadjacent-item": (history(ok(1, r("a"), r("d", 1)), ok(2, a("a", 1), a("b", 1)), ok(3, r("b", 1), r("c")),
                              ok(4, a("c", 1), a("d", 1)), ok(5, r("a", 1), r("c", 1))),
                      history(ok(1, r("a"), r("d")), ok(2, a("a", 1), a("b", 1)), ok(3, r("b", 1), r("c")),
                              ok(4, a("c", 1), a("d", 1)), ok(5, r("a", 1), r("c", 1)))),
    "G2-item": (history(ok(1, r("x"), r("y"), a("x", 1)), ok(2, r("x"), r("y"), a("y", 2)),
                        ok(3, r("x", 1), r("y", 2))),
                history(ok(1, r("x"), r("y"), a("x", 1)), ok(2, r("x", 1), r("y"), a("y", 2)),
                        ok(3, r("x", 1), r("y", 2)))),
    "G1a": (history((1, "fail", [a("x", 1)]), ok(2, r("x", 1))),
            history((1, "fail", [a("x", 1)]), ok(2, r("x")))),
    "G1b": (history(ok(1, a("x", 1), a("x", 2)), ok(2, r("x", 1))),
            history(ok(1, a("x", 1), a("x", 2)), ok(2, r("x", 1, 2)))),
    "internal": (history(ok(1, a("x", 1), r("x"))),
                 history(ok(1, a("x", 1), r("x", 1)))),
    "duplicate-elements": (history(ok(1, a("x", 1)), ok(2, r("x", 1, 1))),
                           history(ok(1, a("x", 1)), ok(2, r("x", 1)))),
    "incompatible-order": (history(ok(1, a("x", 1)), ok(2, a("x", 2)), ok(3, r("x", 1, 2)), ok(4, r("x", 2, 1))),
                           history(ok(1, a("x", 1)), ok(2, a("x", 2)), ok(3, r("x", 1)), ok(4, r("x", 1, 2)))),
    "garbage-read": (history(ok(1, a("x", 1)), ok(2, r("x", 1, 9))),
                     history(ok(1, a("x", 1)), ok(2, r("x", 1)))),
    "dirty-update": (history((1, "fail", [a("x", 1)]), ok(2, a("x", 2)), ok(3, r("x", 1, 2))),
                     history((1, "fail", [a("x", 1)]), ok(2, a("x", 2)), ok(3, r("x", 2)))),
    "lost-update": (history(ok(1, r("x"), a("x", 1)), ok(2, r("x"), a("x", 2)), ok(3, r("x", 1, 2)), overlap=True),
                    history(ok(1, r("x"), a("x", 1)), ok(2, r("x", 1), a("x", 2)), ok(3, r("x", 1, 2)))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_anomaly_is_found(name: str) -> None:
    report = check(CASES[name][0])
    assert name in report["anomaly_types"], report
    assert report["valid"] is False
    assert report["anomalies"][name][0]["explanation"]


@pytest.mark.parametrize("name", list(CASES))
def test_its_valid_variant_is_not_flagged(name: str) -> None:
    report = check(with_dependency(CASES[name][1]))
    assert report["anomaly_types"] == [], report
    assert report["valid"] is True


def test_g_single_explanation_names_transactions_keys_and_values() -> None:
    report = check(CASES["G-single-item"][0])
    [found] = report["anomalies"]["G-single-item"]
    assert (found["cycle"], found["edges"]) == (["T4", "T2"], ["rw", "wr"])
    assert "T4 read key x ending in 1, before T2 appended 2 there, so T4 < T2 (rw)" in found["explanation"]
    assert "T4 read key y ending in 2, which T2 appended, so T2 < T4 (wr)" in found["explanation"]


def test_g2_item_rules_out_repeatable_read_but_not_snapshot_isolation() -> None:
    ops = CASES["G2-item"][0]
    report = check(ops)
    assert report["not"] == ["repeatable-read"]
    assert report["also_not"] == ["serializable", "strict-serializable", "strong-session-serializable"]
    assert check(ops, model="snapshot-isolation")["valid"] is True
    assert check(ops, model="repeatable-read")["valid"] is False


def test_g1a_rules_out_read_committed_and_everything_stronger() -> None:
    report = check(CASES["G1a"][0])
    assert report["not"] == ["read-committed"]
    assert "read-uncommitted" not in report["also_not"] and "serializable" in report["also_not"]
    assert check(with_dependency(CASES["G1a"][0]), model="read-uncommitted")["valid"] is True


def test_internal_rules_out_snapshot_isolation_not_repeatable_read() -> None:
    """As in Elle, not seeing one's own writes violates snapshot isolation and serializability (and the
    weakest model Elle's lattice names for it, read-atomic), not repeatable read."""
    ops = with_dependency(CASES["internal"][0])
    report = check(ops)
    assert report["anomaly_types"] == ["internal"]
    assert report["not"] == ["read-atomic"]
    assert "snapshot-isolation" in report["also_not"] and "repeatable-read" not in report["also_not"]
    assert check(ops, model="repeatable-read")["valid"] is True


def test_an_unobserved_info_write_makes_no_claim() -> None:
    """T1's outcome is unknown and nobody saw its append: a read that misses it proves nothing."""
    ops = history((1, "info", [a("x", 1), a("y", 1)]), ok(2, r("x"), r("y")))
    report = check(ops)
    assert report["anomaly_types"] == [] and report["valid"] is True
    assert report["stats"] == {"ok": 1, "fail": 0, "info": 1}


def test_an_info_write_that_was_observed_counts_as_done() -> None:
    """Once a read shows an info transaction's append it happened; a second read that then misses its
    other append is read skew, resting on what was seen, not on an assumption."""
    ops = history((1, "info", [a("x", 1), a("y", 1)]), ok(2, r("x", 1), r("y")), ok(3, r("y", 1)))
    report = check(ops)
    assert report["anomaly_types"] == ["G-single-item"]


def test_a_cut_short_invoke_is_info() -> None:
    ops = [Op(0, 1, "invoke", "txn", [["append", "x", 1]], 1)]
    [txn] = pair(ops)
    assert txn.type == "info"
    # Nothing completed, so nothing was observed: undecided, never "valid" (Elle: empty-transaction-graph).
    assert check(ops)["valid"] == "unknown"


def test_a_stale_read_is_a_realtime_anomaly_only_for_strict_serializable() -> None:
    ops = history(ok(1, a("x", 1)), ok(2, r("x")), ok(3, r("x", 1)))
    strict = check(ops, model="strict-serializable")
    assert strict["anomaly_types"] == ["G-single-item-realtime"] and strict["valid"] is False
    # Elle's lattice: the weakest model a real-time G-single rules out is strong snapshot isolation.
    assert strict["not"] == ["strong-snapshot-isolation"] and "strict-serializable" in strict["also_not"]
    assert check(ops)["valid"] is True


def test_a_search_out_of_time_is_unknown_not_valid() -> None:
    ticks = itertools.count(0, 1000)
    report = check_list_append(pair(CASES["G-single-item"][0]), time_budget=1.0, clock=lambda: float(next(ticks)))
    assert report.valid == "unknown"
    assert report.unknown and "time budget" in report.unknown[0]


def test_history_lines_round_trip_and_bad_lines_are_named() -> None:
    from test_rig.errors import UsageError

    lines = ['{"index": 0, "process": 3, "type": "invoke", "f": "txn", "value": [["append", "x", 5]], "time": 1}',
             '{"index": 1, "process": 3, "type": "ok", "f": "txn", "value": [["append", "x", 5]], "time": 2}']
    assert [o.type for o in parse_history(lines)] == ["invoke", "ok"]
    with pytest.raises(UsageError, match=r"h\.jsonl line 2 is not a history operation"):
        list(parse_history([lines[0], "{oops"], "h.jsonl"))
    with pytest.raises(UsageError, match="completes nothing that was invoked"):
        pair(list(parse_history([lines[1]])))


# --------------------------------------------------------------------------- rw-register and bank


def w(k: str, v: int) -> Mop:
    return ["w", k, v]


def rv(k: str, v: int | None) -> Mop:
    return ["r", k, v]


RW_CASES: dict[str, tuple[list[Op], list[Op]]] = {
    "G-single-item": (history(ok(1, w("x", 1), w("y", 1)), ok(2, rv("x", 1), w("x", 2), rv("y", 1), w("y", 2)),
                         ok(3, rv("x", 1), rv("y", 2))),
                 history(ok(1, w("x", 1), w("y", 1)), ok(2, rv("x", 1), w("x", 2), rv("y", 1), w("y", 2)),
                         ok(3, rv("x", 2), rv("y", 2)))),
    "lost-update": (history(ok(1, w("x", 1)), ok(2, rv("x", 1), w("x", 2)), ok(3, rv("x", 1), w("x", 3)),
                            overlap=True),
                    history(ok(1, w("x", 1)), ok(2, rv("x", 1), w("x", 2)), ok(3, rv("x", 2), w("x", 3)))),
    "G1a": (history((1, "fail", [w("x", 5)]), ok(2, rv("x", 5))),
            history((1, "fail", [w("x", 5)]), ok(2, rv("x", None)))),
    "G1b": (history(ok(1, w("x", 1), w("x", 2)), ok(2, rv("x", 1))),
            history(ok(1, w("x", 1), w("x", 2)), ok(2, rv("x", 2)))),
    "internal": (history(ok(1, w("x", 1), rv("x", None))), history(ok(1, w("x", 1), rv("x", 1)))),
    "garbage-read": (history(ok(1, rv("x", 77))), history(ok(1, rv("x", None)))),
}


@pytest.mark.parametrize("name", list(RW_CASES))
def test_rw_register_anomalies_and_valid_variants(name: str) -> None:
    from test_rig.history.checker import check_rw_register

    bad = check_rw_register(pair(RW_CASES[name][0]), wfr_keys=True).to_dict()
    good = check_rw_register(pair(with_dependency(RW_CASES[name][1], "w")), wfr_keys=True).to_dict()
    assert name in bad["anomaly_types"], bad
    assert good["anomaly_types"] == [] and good["valid"] is True, good


def test_rw_register_explains_the_inferred_order() -> None:
    from test_rig.history.checker import check_rw_register

    [found] = check_rw_register(pair(RW_CASES["G-single-item"][0]), wfr_keys=True).anomalies["G-single-item"]
    assert "T2 read 1 in key x, which T2 then overwrote" not in found["explanation"]
    assert "T4 read 1 in key x, which T2 then overwrote with 2, so T4 < T2 (rw)" in found["explanation"]


def bank_read(*balances: int) -> Mop:
    return ["read", None, {str(i): b for i, b in enumerate(balances)}]


def test_bank_flags_a_wrong_total_and_negative_balances() -> None:
    from test_rig.history.checker import check_bank

    ops = history(ok(1, ["transfer", [0, 1], 5]), ok(2, bank_read(50, 45)), ok(3, bank_read(-5, 105)))
    report = check_bank(pair(ops), total=100).to_dict()
    assert report["anomaly_types"] == ["negative-value", "wrong-total"]
    assert report["anomalies"]["wrong-total"][0]["explanation"] == ("T2 read balances {0: 50, 1: 45} totalling 95, "
                                                                    "not 100: money was created or lost")
    assert report["not"] == ["repeatable-read", "snapshot-isolation"]
    assert check_bank(pair(ops), total=100, model="read-committed").valid is True
    fine = history(ok(1, ["transfer", [0, 1], 5]), ok(2, bank_read(45, 55)))
    assert check_bank(pair(fine), total=100).to_dict()["valid"] is True


def test_process_edges_find_a_process_anomaly_only_when_asked() -> None:
    """One process appends and then, in its next transaction, does not see its own append."""
    ops = history(ok(1, a("x", 1)), ok(1, r("x")), ok(2, r("x", 1)))
    with_process = check_list_append(pair(ops), process=True).to_dict()
    assert with_process["anomaly_types"] == ["G-single-item-process"]
    assert with_process["anomalies"]["G-single-item-process"][0]["edges"] == ["rw", "process"]
    assert check(ops)["valid"] is True


def _through_a_file(ops: list[Op], tmp: Any) -> list[Op]:
    """The operations written as JSONL and read back the way `test-rig check` reads a file (reads as text)."""
    import json

    from test_rig.history.model import iter_history

    path = tmp / "h.jsonl"
    path.write_text("".join(json.dumps(o.to_dict()) + "\n" for o in ops))
    return list(iter_history(path, raw_reads=True))


@pytest.mark.parametrize("name", list(RW_CASES))
def test_rw_register_from_a_file_gives_the_same_verdict(name: str, tmp_path: Any) -> None:
    from test_rig.history.checker import check_rw_register

    for ops in (RW_CASES[name][0], with_dependency(RW_CASES[name][1], "w")):
        direct = check_rw_register(pair(ops), wfr_keys=True).to_dict()
        via_file = check_rw_register(pair(_through_a_file(ops, tmp_path)), wfr_keys=True).to_dict()
        assert (via_file["valid"], via_file["anomaly_types"]) == (direct["valid"], direct["anomaly_types"])


def test_bank_from_a_file_gives_the_same_verdict(tmp_path: Any) -> None:
    from test_rig.history.checker import check_bank

    ops = history(ok(1, ["transfer", [0, 1], 5]), ok(2, bank_read(50, 45)), ok(3, bank_read(-5, 105)))
    report = check_bank(pair(_through_a_file(ops, tmp_path)), total=100).to_dict()
    assert report["anomaly_types"] == ["negative-value", "wrong-total"] and report["valid"] is False


def test_bank_with_no_committed_read_is_undecided() -> None:
    from test_rig.history.checker import check_bank

    ops = history(ok(1, ["transfer", [0, 1], 5]), (2, "info", [["read", None, None]]))
    report = check_bank(pair(ops), total=100)
    assert report.valid == "unknown" and report.unknown == ["no committed read of the balances: nothing was "
                                                            "observed"]


# --------------------------------------------------------------------------- found by review, each as Elle says


def _ops_from(text: str, tmp: Any, name: str = "h.edn") -> list[Op]:
    from test_rig.history.model import iter_history

    path = tmp / name
    path.write_text(text)
    return list(iter_history(path, raw_reads=True))


def test_a_failed_transactions_reads_are_no_observation(tmp_path: Any) -> None:
    """Elle orders versions from ok and info operations only: a failed read of [2 1 1] proves nothing."""
    ops = _ops_from("""{:type :invoke, :f :txn, :value [[:append :x 1] [:append :x 2]], :process 0}
{:type :ok, :f :txn, :value [[:append :x 1] [:append :x 2]], :process 0}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 1}
{:type :ok, :f :txn, :value [[:r :x [1 2]]], :process 1}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 2}
{:type :fail, :f :txn, :value [[:r :x [2 1 1]]], :process 2}
""", tmp_path)
    report = check_list_append(pair(ops)).to_dict()
    assert (report["valid"], report["anomaly_types"]) == (True, [])


def test_real_time_comes_from_the_order_of_the_history_not_its_times(tmp_path: Any) -> None:
    """Without :time (all 0), the history's order says T0 completed before T2 began: no real-time anomaly."""
    ops = _ops_from("""{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}
{:type :ok, :f :txn, :value [[:append :x 1]], :process 0}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 1}
{:type :ok, :f :txn, :value [[:r :x [1]]], :process 1}
""", tmp_path)
    report = check_list_append(pair(ops), model="strict-serializable").to_dict()
    assert (report["valid"], report["anomaly_types"]) == (True, [])
    stale = _ops_from("""{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0}
{:type :ok, :f :txn, :value [[:append :x 1]], :process 0}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 1}
{:type :ok, :f :txn, :value [[:r :x nil]], :process 1}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 2}
{:type :ok, :f :txn, :value [[:r :x [1]]], :process 2}
""", tmp_path, "stale.edn")
    assert check_list_append(pair(stale), model="strict-serializable").violations == ["G-single-item-realtime"]


def test_an_info_transaction_has_no_process_order(tmp_path: Any) -> None:
    """Elle's process order links ok operations only: an info may commit after the process went on."""
    ops = _ops_from("""{:type :invoke, :f :txn, :value [[:append :x 1]], :process 0, :time 1}
{:type :info, :f :txn, :value [[:append :x 1]], :process 0, :time 2}
{:type :invoke, :f :txn, :value [[:r :x nil]], :process 0, :time 3}
{:type :ok, :f :txn, :value [[:r :x nil]], :process 0, :time 4}
""", tmp_path)
    report = check_list_append(pair(ops), model="strong-session-serializable")
    assert report.valid is True and report.violations == []


def test_integers_past_64_bits_stay_exact(tmp_path: Any) -> None:
    big = 99999999999999999999999
    lines = [{"index": 0, "process": 0, "type": "invoke", "f": "txn", "value": [["append", "x", big]]},
             {"index": 1, "process": 0, "type": "ok", "f": "txn", "value": [["append", "x", big]]},
             {"index": 2, "process": 1, "type": "invoke", "f": "txn", "value": [["r", "x", None]]},
             {"index": 3, "process": 1, "type": "ok", "f": "txn", "value": [["r", "x", [big]]]}]
    import json

    ops = _ops_from("".join(json.dumps(x) + "\n" for x in lines), tmp_path, "h.jsonl")
    report = check_list_append(pair(ops)).to_dict()
    assert (report["valid"], report["anomaly_types"]) == (True, [])


def test_vectors_as_keys_and_values_are_compared_as_values(tmp_path: Any) -> None:
    ops = _ops_from("""{:type :invoke, :f :txn, :value [[:append [1 2] [3]]], :process 0}
{:type :ok, :f :txn, :value [[:append [1 2] [3]]], :process 0}
{:type :invoke, :f :txn, :value [[:r [1 2] nil]], :process 1}
{:type :ok, :f :txn, :value [[:r [1 2] [[3]]]], :process 1}
""", tmp_path)
    report = check_list_append(pair(ops)).to_dict()
    assert (report["valid"], report["anomaly_types"]) == (True, [])


def test_bank_balances_are_added_exactly() -> None:
    from test_rig.history.checker import check_bank

    ops = history(ok(1, ["read", None, {"0": 45.5, "1": 54.5}]))
    assert check_bank(pair(ops), total=100).valid is True
    odd = history(ok(1, ["read", None, {"0": "a", "1": 100}]))
    report = check_bank(pair(odd), total=100)
    assert report.valid == "unknown" and report.unknown == ["T0 read balances that are not numbers for account(s) 0"]


def test_edn_discards_whole_forms_and_reads_ratios() -> None:
    from fractions import Fraction

    from test_rig.history.edn import iter_forms

    assert [f for _, f in iter_forms("[{:a 1} #_{:b 2} {:c 3}]")] == [{"a": 1}, {"c": 3}]
    assert [f for _, f in iter_forms("{:a #_ :b 1 :c [1 #_[2 3] 4] :d 1/2}")] == [
        {"a": 1, "c": [1, 4], "d": Fraction(1, 2)}]


@pytest.mark.parametrize(("line", "message"), [
    ('{:type :ok, :f :txn, :value [], :process nil}', "its process is nil; a process is a number or a name"),
    ('{:type :ok, :f :txn, :value [], :process 0, :time "soon"}', 'its time is "soon", not a whole number'),
    ('{:type :ok, :f :txn, :value [], :process 0, :index 1.5}', "its index is 1.5, not a whole number"),
])
def test_an_operation_with_a_bad_field_is_named(tmp_path: Any, line: str, message: str) -> None:
    from test_rig.errors import UsageError

    with pytest.raises(UsageError, match=message):
        _ops_from(line + "\n", tmp_path)


def test_check_file_returns_the_commands_result_and_its_report_renders_again_from_the_json(tmp_path: Any) -> None:
    """`check` without the command line: history.check.check_file gives the RunResult `check --json` writes,
    and the console lines and JUnit case drawn from that dict are those drawn from its JSON read back."""
    import io
    import json

    from rich.console import Console

    from test_rig.history.check import CheckOptions, check_file
    from test_rig.history.checker import Report
    from test_rig.history.report import console_lines, junit_suite

    ops = history((0, "ok", [["append", 1, 1], ["r", 2, None]]), (1, "ok", [["append", 2, 1], ["r", 1, None]]),
                  overlap=True)
    path = tmp_path / "g2.jsonl"
    path.write_text("".join(json.dumps({"index": o.index, "process": o.process, "type": o.type, "f": o.f,
                                        "value": o.value, "time": o.time}) + "\n" for o in ops))
    result = check_file(str(path), CheckOptions())
    data = result.to_dict()
    assert (result.command, result.ok, result.complete, result.verdict.exit_status) == ("check", False, True, 1)
    assert (data["workload"], data["format"], data["valid"], data["violations"]) == ("list-append", "jsonl", False,
                                                                                     ["G2-item"])
    again = json.loads(json.dumps(data))
    assert Report.from_dict(again).to_dict() == {k: data[k] for k in Report.from_dict(data).to_dict()}

    def shown(d: dict[str, Any]) -> str:
        out = io.StringIO()
        console = Console(file=out, width=200)
        for line in console_lines(d):
            console.print(line)
        return out.getvalue()

    assert shown(again) == shown(data) and shown(data).startswith("invalid under serializable; transactions: ")
    case = junit_suite(again, "check").cases[0]
    assert (case.name, case.failure) == ("history valid under serializable", "invalid: G2-item")


def test_a_list_append_history_checked_as_bank_names_its_operations_as_written(tmp_path: Any) -> None:
    """A read kept undecoded from the file (msgspec.Raw) is shown as its JSON text, never as a Python repr."""
    from test_rig.history.checker import check_bank

    ops = history(ok(1, ["append", 0, 1]), ok(2, ["r", 0, [1]]))
    report = check_bank(pair(_through_a_file(ops, tmp_path)), total=100)
    assert report.valid == "unknown"
    assert any("[r 0 [1]]" in reason for reason in report.unknown), report.unknown
    assert not any("object at 0x" in reason for reason in report.unknown), report.unknown
