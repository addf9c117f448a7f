"""sysbench's OLTP workloads as data (load/oltp.py): statements per transaction for the options, the SQL each
draws, sysbench's distributions and strings, the schema, the report and the verdict; no database."""

from __future__ import annotations

import random
import re

import pytest
from hdrh.histogram import HdrHistogram

from test_rig.coordinator import merge_named
from test_rig.errors import UsageError
from test_rig.load import oltp
from test_rig.load.oltp import KINDS, RAND_TYPES, OltpOptions, SysbenchRandom, statements_per_transaction

# What sysbench 1.0.20's scripts send per event with their default options, read off oltp_common.lua and each
# script's event(): the counts a run of ours must match.
SYSBENCH_DEFAULTS = {
    "oltp-read-write": {"point_select": 10, "simple_range": 1, "sum_range": 1, "order_range": 1,
                        "distinct_range": 1, "index_update": 1, "non_index_update": 1, "delete": 1, "insert": 1,
                        "begin": 1, "commit": 1},
    "oltp-read-only": {"point_select": 10, "simple_range": 1, "sum_range": 1, "order_range": 1,
                       "distinct_range": 1, "begin": 1, "commit": 1},
    "oltp-write-only": {"index_update": 1, "non_index_update": 1, "delete": 1, "insert": 1, "begin": 1,
                        "commit": 1},
    "oltp-insert": {"insert": 1},
    "oltp-update-index": {"index_update": 1},
    "oltp-update-non-index": {"non_index_update": 1},
    "oltp-delete": {"delete": 1},
    "oltp-point-select": {"point_select": 1},
    "select-random-points": {"random_points": 1},
    "select-random-ranges": {"random_ranges": 1},
}


@pytest.mark.parametrize("workload", oltp.WORKLOADS)
def test_statements_per_transaction_are_sysbenchs_with_its_defaults(workload: str) -> None:
    assert statements_per_transaction(workload, OltpOptions()) == SYSBENCH_DEFAULTS[workload]


def test_options_change_the_counts_as_in_sysbench() -> None:
    opts = OltpOptions(point_selects=3, simple_ranges=2, sum_ranges=0, order_ranges=4, distinct_ranges=1,
                       index_updates=2, non_index_updates=3, delete_inserts=2)
    assert statements_per_transaction("oltp-read-write", opts) == {
        "point_select": 3, "simple_range": 2, "order_range": 4, "distinct_range": 1, "index_update": 2,
        "non_index_update": 3, "delete": 2, "insert": 2, "begin": 1, "commit": 1}
    # --skip-trx: no BEGIN/COMMIT; --range-selects off: only the point selects are read
    assert statements_per_transaction("oltp-read-only", OltpOptions(skip_trx=True, range_selects=False)) == {
        "point_select": 10}
    # oltp_point_select forces one point select per event, whatever --point-selects says
    assert statements_per_transaction("oltp-point-select", OltpOptions(point_selects=7)) == {"point_select": 1}
    assert statements_per_transaction("oltp-update-index", OltpOptions(index_updates=5)) == {"index_update": 5}


def test_a_transaction_sends_the_plan_in_sysbenchs_order_with_one_table_per_group() -> None:
    opts = OltpOptions(tables=4, point_selects=5, delete_inserts=2)
    statements = oltp.generator("oltp-read-write", opts)(SysbenchRandom(random.Random(7), opts), 0)
    kinds = [KINDS[k] for k, _ in statements]
    assert kinds == (["begin"] + ["point_select"] * 5 + ["simple_range", "sum_range", "order_range",
                     "distinct_range", "index_update", "non_index_update"] + ["delete", "insert"] * 2 + ["commit"])
    sqls = [sql.decode() for _, sql in statements]
    tables = [re.search(r"sbtest(\d+)", sql) for sql in sqls]
    point_tables = {m.group(1) for m, kind in zip(tables, kinds, strict=True) if m and kind == "point_select"}
    assert len(point_tables) == 1  # execute_point_selects picks its table once
    assert sqls[0] == "BEGIN" and sqls[-1] == "COMMIT"
    low, high = map(int, re.search(r"BETWEEN (\d+) AND (\d+)", sqls[6]).groups())  # type: ignore[union-attr]
    assert high - low == opts.range_size - 1
    assert re.fullmatch(r"SELECT c FROM sbtest\d WHERE id BETWEEN \d+ AND \d+ ORDER BY c", sqls[8])
    assert re.fullmatch(r"SELECT DISTINCT c FROM sbtest\d WHERE id BETWEEN \d+ AND \d+ ORDER BY c", sqls[9])
    assert re.fullmatch(r"UPDATE sbtest\d SET k=k\+1 WHERE id=\d+", sqls[10])
    assert re.fullmatch(r"UPDATE sbtest\d SET c='(\d{11}-){9}\d{11}' WHERE id=\d+", sqls[11])
    deleted = re.fullmatch(r"DELETE FROM sbtest(\d) WHERE id=(\d+)", sqls[12])
    inserted = re.fullmatch(r"INSERT INTO sbtest(\d) \(id, k, c, pad\) VALUES \((\d+), \d+, '(\d{11}-){9}\d{11}', "
                            r"'(\d{11}-){4}\d{11}'\)", sqls[13])
    assert deleted and inserted and deleted.groups() == inserted.groups()[:2]  # the same row goes back in


@pytest.mark.parametrize("workload", list(oltp.WORKLOADS))
def test_every_transaction_of_a_workload_has_the_same_statement_types(workload: str) -> None:
    # the whole-run loop counts a statement by its place in the transaction (fast.TransactionLoop.flush)
    for opts in (OltpOptions(), OltpOptions(tables=3, point_selects=2, delete_inserts=3, skip_trx=True),
                 OltpOptions(range_selects=False, index_updates=0, rand_type="uniform")):
        draw = oltp.generator(workload, opts)
        rnd = SysbenchRandom(random.Random(11), opts)
        expected = oltp.script_kinds(workload, opts)
        assert all(tuple(k for k, _ in draw(rnd, worker % 3)) == expected for worker in range(60))
        assert oltp.OltpWorkload(workload, opts).kinds == expected


def test_insert_event_lets_auto_increment_choose_or_draws_unique_signed_ids() -> None:
    auto = OltpOptions()
    rnd = SysbenchRandom(random.Random(3), auto)
    sql = oltp.generator("oltp-insert", auto)(rnd, 0)[0][1].decode()
    assert sql.startswith("INSERT INTO sbtest1 (id, k, c, pad) VALUES (0, ")
    manual = OltpOptions(auto_inc=False)
    gen = oltp.generator("oltp-insert", manual)
    rnd = SysbenchRandom(random.Random(3), manual)
    ids = [int(re.search(rb"VALUES \((-?\d+),", gen(rnd, 0)[0][1]).group(1)) for _ in range(20_000)]  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids)
    assert all(-2**31 <= i < 2**31 for i in ids) and min(ids) < 0 < max(ids)


def test_random_points_and_ranges_stay_in_the_workers_slice() -> None:
    opts = OltpOptions(table_size=1000, threads=4, random_points=3, number_of_ranges=2, delta=5)
    sql = oltp.generator("select-random-points", opts)(SysbenchRandom(random.Random(1), opts), 2)[0][1].decode()
    values = [int(v) for v in re.fullmatch(r"SELECT id, k, c, pad FROM sbtest1 WHERE k IN \((.*)\)",  # type: ignore[union-attr]
                                           sql).group(1).split(", ")]
    assert len(values) == 3 and all(500 <= v <= 750 for v in values)
    sql = oltp.generator("select-random-ranges", opts)(SysbenchRandom(random.Random(1), opts), 1)[0][1].decode()
    ranges = re.findall(r"k BETWEEN (\d+) AND (\d+)", sql)
    assert sql.startswith("SELECT count(k) FROM sbtest1 WHERE k BETWEEN ") and " OR " in sql and len(ranges) == 2
    assert all(250 <= int(a) <= 500 and int(b) == int(a) + 5 for a, b in ranges)


class _Scripted(random.Random):
    """A generator whose random() returns given values, to check sysbench's formulas on exact inputs."""

    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


def test_special_distribution_is_sysbenchs_formula() -> None:
    opts = OltpOptions()
    # rnd 0.5 >= 1/4: uniform within the middle 1 %: t = 9999, res = 0.5 * (99.99 + 1) + 4999.5 - 49.995 = 5000.0
    assert SysbenchRandom(_Scripted([0.5]), opts).special(1, 10_000) == 5001
    # rnd 0.99: 0.99 * 100.99 + 4949.505 = 5049.4851 -> 5049
    assert SysbenchRandom(_Scripted([0.99]), opts).special(1, 10_000) == 1 + 5049
    # rnd 0.1 < 1/4: the mean of 12 uniform draws scaled over [a, b]: 12 * 0.25 / 12 * 9999 = 2499.75 -> 2499
    assert SysbenchRandom(_Scripted([0.1] + [0.25] * 12), opts).special(1, 10_000) == 1 + 2499
    rnd = SysbenchRandom(random.Random(5), opts)
    values = [rnd.special(1, 10_000) for _ in range(20_000)]
    middle = sum(1 for v in values if 4951 <= v <= 5051)
    assert 0.74 < middle / len(values) < 0.77  # 75 % plus the normal part's share of that window
    assert SysbenchRandom(_Scripted([0.5]), opts).uniform(1, 10) == 6


@pytest.mark.parametrize("rand_type", RAND_TYPES)
def test_values_drawn_in_bulk_are_the_values_drawn_one_at_a_time(rand_type: str) -> None:
    opts = OltpOptions(rand_type=rand_type)
    one, bulk = SysbenchRandom(random.Random(11), opts), SysbenchRandom(random.Random(11), opts)
    singles = [one.default(1, 10_000) for _ in range(5000)]
    assert bulk.defaults(1, 5000, 0) == []
    assert bulk.defaults(1, 10_000, 2000) + bulk.defaults(1, 10_000, 3000) == singles
    assert SysbenchRandom(random.Random(3), opts).defaults(7, 7, 3) == [7, 7, 7]
    one, bulk = SysbenchRandom(random.Random(12), opts), SysbenchRandom(random.Random(12), opts)
    assert bulk.uniforms(1, 4, 400) == [one.uniform(1, 4) for _ in range(400)]


def test_digit_groups_come_from_a_pool_of_uniform_digits() -> None:
    rnd = SysbenchRandom(random.Random(4), OltpOptions())
    values = [rnd.digits(10) for _ in range(3000)] + [rnd.digits(5) for _ in range(3000)]  # the pool refills
    assert all(re.fullmatch(rb"(\d{11}-){9}\d{11}", v) for v in values[:3000])
    assert all(re.fullmatch(rb"(\d{11}-){4}\d{11}", v) for v in values[3000:])
    assert len(set(values)) == len(values)
    digits = b"".join(values).replace(b"-", b"")
    counts = [digits.count(d) for d in b"0123456789"]
    # 495,000 digits: a standard deviation of 0.00043; the bias of bytes taken modulo 10 without dropping 250..255
    # (0.1016 and 0.0977) would show
    assert all(abs(c / len(digits) - 0.1) < 0.0012 for c in counts), counts


def test_strings_are_sysbenchs_templates() -> None:
    rnd = SysbenchRandom(random.Random(2), OltpOptions())
    c, pad = rnd.c_value(), rnd.pad_value()
    assert re.fullmatch(r"(\d{11}-){9}\d{11}", c) and len(c) == 119
    assert re.fullmatch(r"(\d{11}-){4}\d{11}", pad) and len(pad) == 59
    assert c != rnd.c_value()


def test_schema_is_sysbenchs() -> None:
    assert oltp.create_table_sql(2, OltpOptions()) == (
        "CREATE TABLE sbtest2(\n  id INTEGER NOT NULL AUTO_INCREMENT,\n  k INTEGER DEFAULT '0' NOT NULL,\n"
        "  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n"
        ") /*! ENGINE = innodb */")
    assert "id INTEGER NOT NULL,\n" in oltp.create_table_sql(1, OltpOptions(auto_inc=False))
    assert oltp.create_index_sql(3) == "CREATE INDEX k_3 ON sbtest3(k)"


def test_prepare_rows() -> None:
    opts = OltpOptions(table_size=2500, auto_inc=False)
    batches = list(oltp.insert_batches(1, opts, SysbenchRandom(random.Random(1), opts)))
    assert len(batches) == 3 and all(b.startswith("INSERT INTO sbtest1(id, k, c, pad) VALUES (") for b in batches)
    rows = re.findall(r"\((\d+), (\d+), '[\d-]{119}', '[\d-]{59}'\)", "".join(batches))
    assert [int(i) for i, _ in rows] == list(range(1, 2501))
    assert all(1 <= int(k) <= 2500 for _, k in rows)
    auto = list(oltp.insert_batches(1, OltpOptions(table_size=10), SysbenchRandom(random.Random(1), opts)))
    assert len(auto) == 1 and auto[0].startswith("INSERT INTO sbtest1(k, c, pad) VALUES (")
    assert len(re.findall(r"\(\d+, '", auto[0])) == 10


def test_ignore_errors_option() -> None:
    assert oltp.parse_ignore_errors(oltp.DEFAULT_IGNORE_ERRORS) == frozenset({1213, 1020, 1205})
    assert OltpOptions().ignore_errors == oltp.parse_ignore_errors(oltp.DEFAULT_IGNORE_ERRORS)
    assert oltp.parse_ignore_errors("all") is None
    assert oltp.parse_ignore_errors("none") == frozenset() == oltp.parse_ignore_errors("")
    assert oltp.parse_ignore_errors("1062, 1213") == frozenset({1062, 1213})
    with pytest.raises(UsageError, match=r"--mysql-ignore-errors 12x3: '12x3' is not an error code"):
        oltp.parse_ignore_errors("12x3")
    with pytest.raises(UsageError, match=r"--mysql-ignore-errors ²: '²' is not an error code"):
        oltp.parse_ignore_errors("²")


def test_bad_options_are_one_sentence() -> None:
    with pytest.raises(UsageError) as e:
        oltp.check_options("oltp-update-index", OltpOptions(index_updates=0))
    assert e.value.message == ("oltp-update-index with these options sends no statement in a transaction; give one "
                               "of its statement counts (--point-selects, --index-updates, ...) 1 or more.")
    oltp.check_options("oltp-read-write", OltpOptions(skip_trx=True, point_selects=0, range_selects=False,
                                                      index_updates=0, non_index_updates=0, delete_inserts=1))
    with pytest.raises(UsageError) as e:
        oltp.check_options("oltp-read-write", OltpOptions(tables=0))
    assert e.value.message == "--tables 0: the tables are sbtest1, sbtest2, ...; give --tables 1 or more."
    with pytest.raises(UsageError, match=r"^Unknown workload oltp-foo; choose one of oltp-read-only, "):
        oltp.check_options("oltp-foo", OltpOptions())
    with pytest.raises(UsageError, match=r"^--point-selects -1 is negative"):
        oltp.check_options("oltp-read-write", OltpOptions(point_selects=-1))
    oltp.check_options("oltp-insert", OltpOptions(table_size=0))  # an empty table is fine for inserts


def _hist(*values: int) -> str:
    h = HdrHistogram(1, 3_600_000_000, 3)
    for v in values:
        h.record_value(v)
    return str(h.encode().decode("ascii"))


def test_named_figures_of_processes_merge_by_adding() -> None:
    one = {"statements": {"commit": {"ok": 3, "errors": {"1213": 1}, "histogram": _hist(100, 200, 300)}},
           "ignored_errors": {"1213": 1}}
    two = {"statements": {"commit": {"ok": 2, "errors": {"2013": 1}, "histogram": _hist(400, 500)},
                          "begin": {"ok": 2, "errors": {}, "histogram": _hist(50, 60)}},
           "ignored_errors": {}}
    merged = merge_named([one, None, two])
    assert merged is not None
    commit = merged["statements"]["commit"]
    assert commit["ok"] == 5 and commit["errors"] == {"1213": 1, "2013": 1}
    h = HdrHistogram.decode(commit["histogram"])
    assert h.get_total_count() == 5 and h.get_max_value() == h.get_highest_equivalent_value(500)
    assert merged["statements"]["begin"]["ok"] == 2 and merged["ignored_errors"] == {"1213": 1}
    assert merge_named([None, None]) is None


def test_summary_adds_up_by_type_and_class() -> None:
    named = {"statements": {"point_select": {"ok": 100, "errors": {}, "histogram": _hist(*[1000] * 100)},
                            "index_update": {"ok": 9, "errors": {"1213": 1}, "histogram": _hist(*[2000] * 9)},
                            "commit": {"ok": 10, "errors": {}, "histogram": _hist(*[500] * 10)}},
             "ignored_errors": {"1213": 1}}
    s = oltp.summarize("oltp-read-write", OltpOptions(), named, transactions=10, failed_transactions=0, seconds=2.0)
    assert s["tps"] == 5.0 and s["transactions"] == 10
    assert s["queries"] == {"read": 100, "write": 9, "other": 10, "total": 119, "per_second": 59.5}
    assert list(s["statements"]) == ["point_select", "index_update", "commit"]
    assert s["statements"]["index_update"] == {"count": 9, "errors": 1, "errors_by_code": {"1213": 1},
                                               "per_second": 4.5, "p50_ms": 2.0, "p95_ms": 2.0, "p99_ms": 2.0,
                                               "max_ms": 2.0}
    assert s["ignored_errors"] == 1 and s["per_transaction"] == SYSBENCH_DEFAULTS["oltp-read-write"]


def _summary(transactions: int) -> dict[str, object]:
    return oltp.summarize("oltp-read-write", OltpOptions(), None, transactions, 0, 1.0)


def test_verdict_fails_on_errors_sysbench_would_stop_at() -> None:
    # what a server whose writes fail would give: transactions failing with an error no one ignores
    failed = oltp.verdict_fields(_summary(40), {"1406": 3}, None, with_nemesis=False)
    assert failed == {"ok": False, "error": "3 transactions failed with errors that --mysql-ignore-errors does not "
                                            "cover (1406 ×3); sysbench would have stopped at the first"}
    # under a nemesis those errors are the faults' doing: the nemesis's own verdict counts
    assert oltp.verdict_fields(_summary(40), {"2013": 3}, None, with_nemesis=True) == {"ok": True}
    assert oltp.verdict_fields(_summary(40), {}, "the kill fault never ran", with_nemesis=True) == {
        "ok": False, "error": "the kill fault never ran"}
    assert oltp.verdict_fields(_summary(0), {"1406": 2}, None, with_nemesis=False) == {
        "ok": False, "error": "no transaction completed; 2 failed (1406 ×2)"}
    # each code with the first message the server gave for it: what was refused, and why
    denied = {"1142": "UPDATE command denied to user 'ro'@'localhost' for table `test`.`sbtest1`"}
    assert oltp.verdict_fields(_summary(0), {"1142": 5, "1406": 2}, None, with_nemesis=False, messages=denied) == {
        "ok": False, "error": "no transaction completed; 7 failed (1142 ×5: UPDATE command denied to user "
                              "'ro'@'localhost' for table `test`.`sbtest1`; 1406 ×2)"}
    assert oltp.verdict_fields(_summary(0), {}, None, with_nemesis=False) == {
        "ok": None, "undecided": 1, "unknown": ["no transaction finished during the run: nothing was measured"]}
    assert oltp.verdict_fields(_summary(40), {}, None, with_nemesis=False) == {"ok": True}


def test_html_section_draws_the_statements_and_tasks_tables() -> None:
    from test_rig.load import html

    named = {"statements": {"commit": {"ok": 10, "errors": {"1213": 1}, "histogram": _hist(*[500] * 10)}},
             "ignored_errors": {"1213": 1}}
    data = oltp.summarize("oltp-write-only", OltpOptions(), named, 10, 0, 2.0)
    page = html.section(data)
    assert "<table id='statements'>" in page and "<td>commit</td><td>10</td><td>5.0</td><td>1</td><td>1213: 1</td>" \
        in page
    assert "begin 1, commit 1" in page and "read 0, write 0, other 10" in page
    tasks = {"buy": {"count": 3, "per_second": 1.5, "errors": 1, "errors_by_code": {"AssertionError": 1},
                     "p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 2.0, "max_ms": 2.0, "failures": ["AssertionError: <x>"]}}
    page = html.section({"tasks": tasks})
    assert "<table id='tasks'>" in page and "<li>task buy: AssertionError: &lt;x&gt;</li>" in page
    assert html.section({"qps": 1.0}) == ""
    # an interrupted run's result: no task ran, figures the result does not have (null) show as dashes
    assert html.section({"tasks": {}}) == "<h2>Tasks</h2>\n<p id='tasks'>No task ran.</p>"
    assert "failed transactions –, ignored errors –." in html.section({"statements": {}})


def test_load_settings_that_cannot_run_together_are_refused_before_anything_runs() -> None:
    from test_rig.load.bench import LoadSettings

    LoadSettings(connections=2, duration=1.0, warmup=1.0).check()  # one process warms up
    with pytest.raises(UsageError) as more:
        LoadSettings(connections=2, duration=1.0, processes=3).check()
    assert more.value.message == ("--processes 3 is more than --connections 2; each process needs at least one "
                                  "connection.")
    with pytest.raises(UsageError) as warm:
        LoadSettings(connections=4, duration=1.0, warmup=1.0, processes=2).check()
    assert warm.value.message == ("--warmup applies to a run in one process; with --processes leave it out (or make "
                                  "--duration longer and read the timeline from the warm seconds).")


def test_an_oltp_runs_console_lines_read_its_result_dict() -> None:
    from test_rig.load.bench import figure_lines

    named = {"statements": {"point_select": {"ok": 100, "errors": {}, "histogram": _hist(*[1000] * 100)}}}
    summary = oltp.summarize("oltp-point-select", OltpOptions(), named, 100, 0, 2.0)
    data = {**summary, "operations": 100, "errors": 0, "errors_by_code": {}, "reconnects": 0, "qps": 50.0,
            "p50_ms": 1.0, "p95_ms": 1.0, "p99_ms": 1.0, "max_ms": 1.0,
            "timeline": [{"ops": 60}, {"ops": 40, "faults": ["kill"]}], "nemesis": {"windows": [{}]}}
    lines = oltp.console_lines(data)
    assert lines[0] == ("transactions 100 (50.0 per s)  queries 100 (50.0 per s): read 100, write 0, other 0")
    assert lines[-2:] == ["timeline (tps): 60 40!", "nemesis: 1 fault window(s) (! marks the seconds they cover)"]
    assert figure_lines(data)[-2] == "timeline (ops/s): 60 40!"
    assert oltp.console_lines({"command": "bench oltp-point-select", "complete": False}) == []
