"""The TPC-C-style workload as data (load/tpcc.py, load/tpcc_check.py): the mix and options, the random values,
the initial database, and each consistency condition's judge, on the load's own rows and on rows a server that
lost or half-applied a transaction would hold; no database. The aggregate queries are computed here in Python
over the loaded rows, column for column as the server computes them."""

from __future__ import annotations

import copy
import functools
import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from test_rig.coordinator import merge_named
from test_rig.errors import UsageError
from test_rig.load import tpcc, tpcc_check
from test_rig.load.tpcc import TpccOptions

Tables = dict[str, list[list[Any]]]
SMALL = TpccOptions(warehouses=2, scale_down=100)


@functools.cache
def _load(opts: TpccOptions) -> Tables:
    tables: Tables = defaultdict(list)
    for table, rows in tpcc.load_rows(opts, seed=1):
        tables[table].extend(rows)
    return tables


def loaded(opts: TpccOptions = SMALL) -> Tables:
    """The initial database of `opts`, a copy each test may change."""
    return copy.deepcopy(_load(opts))


def D(v: Any) -> Decimal:
    return Decimal(str(v))


def aggregate(t: Tables) -> tpcc_check.Rows:
    """What tpcc_check.QUERIES return on these tables (columns by position, as load_rows writes them)."""
    out: tpcc_check.Rows = {}
    out["warehouse"] = [(w[0], D(w[8])) for w in t["warehouse"]]
    out["district"] = [(d[1], d[0], D(d[9]), d[10]) for d in t["district"]]
    ytd: dict[int, Decimal] = defaultdict(Decimal)
    for d in t["district"]:
        ytd[d[1]] += D(d[9])
    out["district_ytd"] = list(ytd.items())
    by_d: dict[tuple[int, int], list[list[Any]]] = defaultdict(list)
    for o in t["orders"]:
        by_d[(o[2], o[1])].append(o)
    out["orders_by_district"] = [(w, d, max(o[0] for o in os), len(os), sum(o[6] for o in os))
                                 for (w, d), os in by_d.items()]
    no_d: dict[tuple[int, int], list[int]] = defaultdict(list)
    for n in t["new_order"]:
        no_d[(n[2], n[1])].append(n[0])
    out["new_order_by_district"] = [(w, d, min(ids), max(ids), len(ids)) for (w, d), ids in no_d.items()]
    ol_d: Counter[tuple[int, int]] = Counter((ol[2], ol[1]) for ol in t["order_line"])
    out["order_line_by_district"] = [(w, d, n) for (w, d), n in ol_d.items()]
    out["customers_by_district"] = [(w, d, n) for (w, d), n in Counter((c[2], c[1]) for c in t["customer"]).items()]
    queued = Counter((n[2], n[1], n[0]) for n in t["new_order"])
    lines: dict[tuple[int, int, int], list[list[Any]]] = defaultdict(list)
    for ol in t["order_line"]:
        lines[(ol[2], ol[1], ol[0])].append(ol)
    keys = {(o[2], o[1], o[0]) for o in t["orders"]}
    out["orders"] = [(o[2], o[1], o[0], o[5], o[6], queued[(o[2], o[1], o[0])], len(lines[(o[2], o[1], o[0])]),
                      sum(1 for ol in lines[(o[2], o[1], o[0])] if ol[6] is None)) for o in t["orders"]]
    out["new_order_orphans"] = [(w, d, o) for (w, d, o) in queued if (w, d, o) not in keys]
    out["order_line_orphans"] = [(*k, len(v)) for k, v in lines.items() if k not in keys]
    h_w: dict[int, Decimal] = defaultdict(Decimal)
    h_d: dict[tuple[int, int], Decimal] = defaultdict(Decimal)
    h_c: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    for h in t["history"]:
        h_w[h[4]] += D(h[6])
        h_d[(h[4], h[3])] += D(h[6])
        h_c[(h[2], h[1], h[0])] += D(h[6])
    out["history_by_warehouse"] = list(h_w.items())
    out["history_by_district"] = [(*k, v) for k, v in h_d.items()]
    out["history_by_customer"] = [(*k, v) for k, v in h_c.items()]
    out["customer"] = [(c[2], c[1], c[0], D(c[16]), D(c[17])) for c in t["customer"]]
    owner = {(o[2], o[1], o[0]): o[3] for o in t["orders"]}
    delivered: dict[tuple[int, int, int], Decimal] = defaultdict(Decimal)
    for ol in t["order_line"]:
        key = (ol[2], ol[1], ol[0])
        if ol[6] is not None and key in owner:
            delivered[(ol[2], ol[1], owner[key])] += D(ol[8])
    out["delivered_by_customer"] = [(*k, v) for k, v in delivered.items()]
    return out


def broken(t: Tables) -> dict[str, list[dict[str, Any]]]:
    result = tpcc_check.judge_all(aggregate(t))
    return {c["clause"]: c["rows"] for c in result["conditions"] if c["holds"] is not True}


def district(t: Tables, w: int, d: int) -> list[Any]:
    return next(r for r in t["district"] if (r[1], r[0]) == (w, d))


def find(rows: list[list[Any]], **where: Any) -> list[Any]:
    cols = {"w": 2, "d": 1, "o": 0}
    return next(r for r in rows if all(r[cols[k]] == v for k, v in where.items()))


# --------------------------------------------------------------------------- options, mix, random values


def test_mix_forms_and_bad_mixes() -> None:
    assert tpcc.parse_mix("45,43,4,4,4") == tpcc.DEFAULT_MIX == tpcc.parse_mix("45/43/4/4/4")
    assert tpcc.parse_mix("new-order=50,payment=50") == (50, 50, 0, 0, 0)
    assert tpcc.parse_mix("stock_level=1") == (0, 0, 0, 0, 1)
    with pytest.raises(UsageError, match=r"^--mix 45,43: is not a transaction mix|^--mix 45,43 is not a"):
        tpcc.parse_mix("45,43")
    with pytest.raises(UsageError, match="unknown transaction 'refund'"):
        tpcc.parse_mix("new-order=5,refund=3")
    with pytest.raises(UsageError, match="every weight is 0"):
        tpcc.parse_mix("0,0,0,0,0")
    # a superscript digit is a digit to str.isdigit, not to int(): refused in a sentence, not a ValueError
    with pytest.raises(UsageError, match=r"^--mix ²,1,1,1,1 is not a transaction mix;"):
        tpcc.parse_mix("²,1,1,1,1")
    with pytest.raises(UsageError, match=r"^--mix new-order=²: '²' is not a whole number;"):
        tpcc.parse_mix("new-order=²")
    with pytest.raises(UsageError, match="TPC-C needs at least one warehouse"):
        tpcc.check_options(TpccOptions(warehouses=0))
    with pytest.raises(UsageError, match="--scale-down 301 is out of range"):
        tpcc.check_options(TpccOptions(scale_down=301))


def test_sizes_and_scale_down() -> None:
    assert (TpccOptions().items, TpccOptions().customers, TpccOptions().new_orders) == (100_000, 3000, 900)
    assert (SMALL.items, SMALL.customers, SMALL.new_orders) == (1000, 30, 9)
    assert TpccOptions(scale_down=10).to_dict()["spec_sized"] is False and TpccOptions().to_dict()["spec_sized"]


def test_the_mix_is_drawn_by_its_weights() -> None:
    work = tpcc.TpccWorkload(TpccOptions(mix=(45, 43, 4, 4, 4)))
    rng = random.Random(3)
    counts = Counter(work.draw(rng) for _ in range(100_000))
    assert [round(counts[i] / 1000) for i in range(5)] == [45, 43, 4, 4, 4]
    only = tpcc.TpccWorkload(TpccOptions(mix=(0, 1, 0, 0, 0)))
    assert {only.draw(rng) for _ in range(1000)} == {1}


def test_nurand_and_last_names() -> None:
    rng = random.Random(0)
    values = [tpcc.nurand(rng, 1023, 1, 3000, 259) for _ in range(10_000)]
    assert min(values) >= 1 and max(values) <= 3000
    assert Counter(values).most_common(1)[0][1] > 10  # non-uniform: some ids are much hotter than 1/3000
    assert tpcc.last_name(0) == "BARBARBAR" and tpcc.last_name(371) == "PRICALLYOUGHT"
    names = {tpcc.lookup_last_name(rng, SMALL) for _ in range(2000)}
    assert names <= {tpcc.last_name(i) for i in range(30)}  # scaled down: only names the load gave


# --------------------------------------------------------------------------- the initial database


def test_the_load_has_the_specified_shape() -> None:
    t = loaded()
    assert {k: len(v) for k, v in t.items() if k != "order_line"} == {
        "item": 1000, "warehouse": 2, "stock": 2000, "district": 20, "customer": 600, "history": 600,
        "orders": 600, "new_order": 180}
    assert all(5 <= o[6] <= 15 for o in t["orders"]) and len(t["order_line"]) == sum(o[6] for o in t["orders"])
    assert {n[0] for n in t["new_order"]} == set(range(22, 31))  # the last 30 % of each district's orders
    assert all((o[5] is None) == (o[0] > 21) for o in t["orders"])
    assert all(d[10] == 31 for d in t["district"])
    sql = tpcc.insert_sql("new_order", [[1, 2, 3], [4, 5, 6]])
    assert sql == "INSERT INTO new_order VALUES (1,2,3),(4,5,6)"
    assert len(tpcc.create_table_sql()) == 9


def test_all_twelve_conditions_hold_on_the_loaded_database() -> None:
    result = tpcc_check.judge_all(aggregate(loaded()))
    assert result["summary"] == "12 of 12 conditions hold"
    assert (result["held"], result["of"], result["broken"], result["undecided"]) == (12, 12, [], [])


def test_a_committed_run_keeps_every_condition() -> None:
    """The tables after a New-Order, a Payment and a Delivery applied whole, as a correct server keeps them."""
    t = loaded()
    w, d = 1, 4
    row = district(t, w, d)
    # New-Order: the next id, the order, its new_order row and 2 lines
    o_id = row[10]
    row[10] += 1
    t["orders"].append([o_id, d, w, 7, "now", None, 2, 1])
    t["new_order"].append([o_id, d, w])
    t["order_line"] += [[o_id, d, w, 1, 5, w, None, 3, "30.00", "x"], [o_id, d, w, 2, 9, w, None, 1, "2.50", "y"]]
    # Payment of 100.00 by customer 3 of district 4
    find(t["warehouse"], o=w)[8] = str(D(find(t["warehouse"], o=w)[8]) + 100)
    row[9] = str(D(row[9]) + 100)
    cust = next(c for c in t["customer"] if (c[2], c[1], c[0]) == (w, d, 3))
    cust[16], cust[17] = str(D(cust[16]) - 100), str(D(cust[17]) + 100)
    t["history"].append([3, d, w, d, w, "now", "100.00", "p"])
    # Delivery of that district's oldest new order
    oldest = min(n[0] for n in t["new_order"] if (n[2], n[1]) == (w, d))
    t["new_order"] = [n for n in t["new_order"] if (n[2], n[1], n[0]) != (w, d, oldest)]
    order = find(t["orders"], w=w, d=d, o=oldest)
    order[5] = 4
    total = Decimal(0)
    for ol in t["order_line"]:
        if (ol[2], ol[1], ol[0]) == (w, d, oldest):
            ol[6] = "now"
            total += D(ol[8])
    owner = next(c for c in t["customer"] if (c[2], c[1], c[0]) == (w, d, order[3]))
    owner[16] = str(D(owner[16]) + total)
    assert broken(t) == {}


# --------------------------------------------------------------------------- each judge fails on a bad server


def test_a_district_next_order_id_moved_behind_the_workloads_back_breaks_2() -> None:
    t = loaded()
    district(t, 1, 3)[10] += 5
    assert broken(t) == {"3.3.2.2": [{"w_id": 1, "d_id": 3, "d_next_o_id": 36, "max_o_id": 30, "max_no_o_id": 30}]}


def test_a_lost_new_order_row_breaks_3_5_and_11() -> None:
    t = loaded()
    t["new_order"] = [n for n in t["new_order"] if (n[2], n[1], n[0]) != (2, 5, 25)]  # from the middle
    assert sorted(broken(t)) == ["3.3.2.11", "3.3.2.3", "3.3.2.5"]
    assert broken(t)["3.3.2.5"] == [{"w_id": 2, "d_id": 5, "o_id": 25, "o_carrier_id": None, "in_new_order": False}]
    assert broken(t)["3.3.2.3"] == [{"w_id": 2, "d_id": 5, "min_no_o_id": 22, "max_no_o_id": 30, "new_orders": 8}]


def test_a_half_applied_new_order_breaks_2_4_and_6() -> None:
    """The order and its district's counter are there, one of its lines is not (a rollback undone by half)."""
    t = loaded()
    line = next(ol for ol in t["order_line"] if (ol[2], ol[1], ol[0], ol[3]) == (1, 1, 30, 1))
    t["order_line"].remove(line)
    order = find(t["orders"], w=1, d=1, o=30)
    got = broken(t)
    assert sorted(got) == ["3.3.2.4", "3.3.2.6"]
    assert got["3.3.2.6"] == [{"w_id": 1, "d_id": 1, "o_id": 30, "o_ol_cnt": order[6], "order_lines": order[6] - 1}]
    district(t, 1, 1)[10] += 1  # and the counter moved without its order
    assert "3.3.2.2" in broken(t)


def test_an_order_line_without_its_order_breaks_4_and_6() -> None:
    t = loaded()
    t["order_line"].append([99, 2, 1, 1, 1, 1, None, 1, "1.00", "x"])
    got = broken(t)
    assert sorted(got) == ["3.3.2.4", "3.3.2.6"]
    assert got["3.3.2.6"] == [{"w_id": 1, "d_id": 2, "o_id": 99, "o_ol_cnt": None, "order_lines": 1,
                               "order": "missing"}]


def test_a_delivery_that_set_the_carrier_but_not_the_dates_breaks_5_and_7() -> None:
    t = loaded()
    find(t["orders"], w=1, d=7, o=22)[5] = 3  # carrier set, still in NEW-ORDER, lines undelivered
    got = broken(t)
    assert sorted(got) == ["3.3.2.11", "3.3.2.5", "3.3.2.7"]
    assert got["3.3.2.7"][0]["o_id"] == 22 and got["3.3.2.7"][0]["lines_without_delivery_d"] > 0


def test_a_lost_district_payment_breaks_1_and_9() -> None:
    t = loaded()
    d = district(t, 2, 9)
    d[9] = str(D(d[9]) - D("12.34"))
    got = broken(t)
    assert got == {"3.3.2.1": [{"w_id": 2, "w_ytd": "3000.00", "sum_d_ytd": "2987.66"}],
                   "3.3.2.9": [{"w_id": 2, "d_id": 9, "d_ytd": "287.66", "sum_h_amount": "300.00"}]}


def test_a_payment_without_its_history_breaks_8_9_10_and_not_12() -> None:
    t = loaded()
    t["history"] = [h for h in t["history"] if (h[4], h[3], h[0]) != (1, 2, 5)]
    got = broken(t)
    assert sorted(got) == ["3.3.2.10", "3.3.2.8", "3.3.2.9"]
    assert got["3.3.2.8"] == [{"w_id": 1, "w_ytd": "3000.00", "sum_h_amount": "2990.00"}]
    assert got["3.3.2.10"] == [{"w_id": 1, "d_id": 2, "c_id": 5, "c_balance": "-10.00",
                                "sum_delivered_ol_amount": "0.00", "sum_h_amount": "0"}]


def test_a_customer_balance_changed_alone_breaks_10_and_12() -> None:
    t = loaded()
    c = next(c for c in t["customer"] if (c[2], c[1], c[0]) == (2, 2, 7))
    c[16] = "-9.00"
    got = broken(t)
    assert sorted(got) == ["3.3.2.10", "3.3.2.12"]
    assert got["3.3.2.12"] == [{"w_id": 2, "d_id": 2, "c_id": 7, "c_balance": "-9.00", "c_ytd_payment": "10.00",
                                "sum_delivered_ol_amount": "0.00"}]


def test_a_lost_delivered_order_breaks_11() -> None:
    """An order loaded as delivered vanishes with its lines: only the count of 11 (and the sums of 4) see it."""
    t = loaded()
    t["orders"] = [o for o in t["orders"] if (o[2], o[1], o[0]) != (1, 6, 3)]
    t["order_line"] = [ol for ol in t["order_line"] if (ol[2], ol[1], ol[0]) != (1, 6, 3)]
    got = broken(t)
    assert sorted(got) == ["3.3.2.11"]
    assert got["3.3.2.11"] == [{"w_id": 1, "d_id": 6, "orders": 29, "new_orders": 9, "loaded_delivered": 21,
                                "delivered_since": 0}]


def test_a_judge_that_crashes_leaves_its_condition_undecided() -> None:
    rows = aggregate(loaded())
    rows["warehouse"] = [("x",)]  # a shape no judge expects
    result = tpcc_check.judge_all(rows)
    assert result["undecided"] == ["3.3.2.1", "3.3.2.8"] and result["broken"] == []
    assert tpcc.check_fields(result) == {"ok": None, "undecided": 2, "unknown": [result["summary"]]}
    assert result["summary"] == "10 of 12 conditions hold; not decided: 3.3.2.1, 3.3.2.8"


def test_only_the_first_rows_of_a_broken_condition_are_kept() -> None:
    t = loaded()
    for d in t["district"]:
        d[10] += 1
    c = next(c for c in tpcc_check.judge_all(aggregate(t))["conditions"] if c["clause"] == "3.3.2.2")
    assert (c["holds"], c["violations"], len(c["rows"])) == (False, 20, tpcc_check.SHOWN_ROWS)


# --------------------------------------------------------------------------- the report and the verdict


def test_stats_merge_across_processes_and_tpmc_counts_committed_new_orders() -> None:
    a, b = tpcc.TpccWorkload(SMALL), tpcc.TpccWorkload(SMALL)
    a.ok[0], a.rolled_back[0], b.ok[0] = 30, 1, 30
    a.failed[1]["2013"] = 2
    b.retried[1]["1213"] = 3
    for w in (a, b):
        w.histograms[0].record_value(2000)
    merged = merge_named([a.named_stats(), b.named_stats()])
    s = tpcc.summarize(merged, 30.0)
    assert (s["tpmC"], s["new_orders"]) == (120.0, 60)
    assert s["transactions_by_type"]["new_order"]["count"] == 60
    assert s["transactions_by_type"]["new_order"]["rolled_back"] == 1
    assert s["transactions_by_type"]["payment"]["errors_by_code"] == {"2013": 2}
    assert s["transactions_by_type"]["payment"]["retried_by_code"] == {"1213": 3}
    assert s["transactions_by_type"]["new_order"]["p50_ms"] == 2.0


def test_the_run_verdict() -> None:
    assert tpcc.run_fields(10, {}, False) == {"ok": True}
    assert tpcc.run_fields(10, {"1146": 2}, False) == {
        "ok": False, "error": "2 transactions failed with errors that are not retried (1146 ×2)"}
    assert tpcc.run_fields(10, {"2013": 2}, True) == {"ok": True}
    assert tpcc.run_fields(0, {}, False)["ok"] is None
    t = loaded()
    district(t, 1, 3)[10] += 5
    fields = tpcc.check_fields(tpcc_check.judge_all(aggregate(t)))
    assert fields == {"ok": False, "failed": 1, "error": "TPC-C consistency check failed: 11 of 12 conditions hold; "
                      "broken: 3.3.2.2 (D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID), 1 row)"}


def test_a_checks_console_lines_and_junit_cases_read_its_result_dict() -> None:
    t = loaded()
    district(t, 1, 3)[10] += 5
    checks = tpcc_check.judge_all(aggregate(t))
    data = {"command": "bench tpcc-check", "checks": checks, **tpcc.check_fields(checks)}
    lines = tpcc.check_lines(checks)
    assert lines[0] == f"consistency check: {checks['summary']}"
    assert lines[1] == "  3.3.2.2 D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID): broken in 1 row(s):"
    assert lines[2].startswith("    w_id=1  d_id=3  d_next_o_id=")
    [suite] = tpcc.suites(data)
    assert (suite.name, len(suite.cases)) == ("tpcc-check", 12)
    failed = [c for c in suite.cases if c.failure]
    assert [c.name for c in failed] == ["3.3.2.2 D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID)"]
    assert failed[0].failure is not None and failed[0].failure.startswith("broken in 1 row(s)\nw_id=1  d_id=3")


def test_an_interrupted_runs_junit_has_no_case_for_the_check_it_did_not_run() -> None:
    data = {"command": "bench tpcc", "workload": "tpcc", "complete": False, "ok": False, "error": "interrupted",
            "checks": {"summary": "not run: the run was interrupted"}}
    assert [(s.name, s.cases) for s in tpcc.suites(data)] == [("bench", [])]
    assert tpcc.console_lines(data) == ["consistency check: not run: the run was interrupted"]
