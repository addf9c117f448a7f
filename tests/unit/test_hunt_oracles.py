"""Each oracle can fail: result sets a buggy server would return give a mismatch; correct ones give none."""

from __future__ import annotations

from decimal import Decimal

import pytest

from test_rig.hunt import ast as A
from test_rig.hunt.dialect import MARIADB, TIDB
from test_rig.hunt.oracles import ORACLES, Plans

INT = A.T("int")
C0 = A.Col("a0", "c0", INT)
C1 = A.Col("a0", "c1", A.T("str", False, "utf8mb4_general_ci"))
P = A.Op("binary", ">", (C0, A.Const("1", INT)), A.T("bool"))
BASE = A.Select((A.Item(C0, "r0"),), A.TableRef("t0", "a0"))
CASE = A.Case_(BASE, P, A.Select((A.Item(C0, "r0"),), A.TableRef("t0", "a0"), where=P),
               aggregate=A.Agg("SUM", C0, A.T("decimal")), group_by=(C1,),
               having=A.Op("binary", ">", (A.Agg("COUNT", None, INT), A.Const("1", INT)), A.T("bool")),
               indexes=(("a0", "i1"),))


def derive(name: str, dialect: object = MARIADB) -> object:
    check = ORACLES[name].derive(CASE, dialect, 0)  # type: ignore[arg-type]
    assert check is not None
    return check


def test_tlp_where_queries_and_failure() -> None:
    check = derive("tlp-where")
    assert check.queries == (  # type: ignore[attr-defined]
        "SELECT a0.c0 AS r0 FROM t0 AS a0",
        "(SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE ((a0.c0) > (1))) UNION ALL "
        "(SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE (NOT ((a0.c0) > (1)))) UNION ALL "
        "(SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE (((a0.c0) > (1)) IS NULL))")
    oracle = ORACLES["tlp-where"]
    assert oracle.judge(check, [[(1,), (2,), (None,)], [(2,), (1,), (None,)]]) is None  # type: ignore[arg-type]
    # a server that loses the NULL row in the `p IS NULL` partition
    found = oracle.judge(check, [[(1,), (2,), (None,)], [(2,), (1,)]])  # type: ignore[arg-type]
    assert found is not None and found.difference.only_left == ((None,),)


def test_tlp_distinct_and_group_by_fold_and_fail() -> None:
    for name in ("tlp-distinct", "tlp-group-by"):
        check = derive(name)
        assert " UNION (" in check.queries[1] and check.fold  # type: ignore[attr-defined]
        oracle = ORACLES[name]
        assert oracle.judge(check, [[("a",)], [("A",)]]) is None  # type: ignore[arg-type]
        assert oracle.judge(check, [[("a",), ("b",)], [("a",)]]) is not None  # type: ignore[arg-type]
    assert "GROUP BY a0.c1" in derive("tlp-group-by").queries[0]  # type: ignore[attr-defined]


def test_tlp_having_fails_on_a_lost_group() -> None:
    check = derive("tlp-having")
    assert "HAVING (NOT" in check.queries[1] and "IS NULL)" in check.queries[1]  # type: ignore[attr-defined]
    found = ORACLES["tlp-having"].judge(check, [[("a",), ("b",)], [("b",)]])  # type: ignore[arg-type]
    assert found is not None and found.difference.only_left == (("a",),)


def test_tlp_aggregate_sum_of_sums_and_failure() -> None:
    check = derive("tlp-aggregate")
    assert check.queries[1].startswith("SELECT SUM(u.a) AS a FROM ((SELECT SUM((a0.c0)) AS a")  # type: ignore[attr-defined]
    oracle = ORACLES["tlp-aggregate"]
    assert oracle.judge(check, [[(Decimal("6"),)], [(Decimal("6.0"),)]]) is None  # type: ignore[arg-type]
    assert oracle.judge(check, [[(Decimal("6"),)], [(Decimal("5"),)]]) is not None  # type: ignore[arg-type]


def test_tlp_aggregate_avg_is_approximate_and_can_fail() -> None:
    case = A.Case_(BASE, P, BASE, aggregate=A.Agg("AVG", C0, A.T("decimal")))
    oracle = ORACLES["tlp-aggregate"]
    check = oracle.derive(case, MARIADB, 0)
    assert check is not None and "SUM(u.s) / SUM(u.c)" in check.queries[1]
    assert oracle.judge(check, [[(Decimal("0.6667"),)], [(Decimal("0.66666667"),)]]) is None
    assert oracle.judge(check, [[(Decimal("0.6667"),)], [(Decimal("0.5"),)]]) is not None


def test_count_distinct_is_not_partitioned() -> None:
    case = A.Case_(BASE, P, BASE, aggregate=A.Agg("COUNT", C0, INT, distinct=True))
    assert ORACLES["tlp-aggregate"].derive(case, MARIADB, 0) is None


def test_norec_counts_and_failure() -> None:
    check = derive("norec")
    assert check.queries == (  # type: ignore[attr-defined]
        "SELECT COUNT(*) AS n FROM t0 AS a0 WHERE ((a0.c0) > (1))",
        "SELECT COALESCE(SUM(u.f), 0) AS n FROM (SELECT ((a0.c0) > (1)) IS TRUE AS f FROM t0 AS a0) AS u")
    oracle = ORACLES["norec"]
    assert oracle.judge(check, [[(3,)], [(Decimal("3"),)]]) is None  # type: ignore[arg-type]
    found = oracle.judge(check, [[(2,)], [(Decimal("3"),)]])  # type: ignore[arg-type]
    assert found is not None and found.difference.only_left == ((2,),)


@pytest.mark.parametrize("dialect", [MARIADB, TIDB])
def test_plans_variants_and_failure(dialect: object) -> None:
    oracle = Plans(per_check=2)
    check = oracle.derive(CASE, dialect, 0)  # type: ignore[arg-type]
    assert check is not None and len(check.queries) == 3 and len(check.variants) == 2
    assert all(q.endswith("FROM t0 AS a0 WHERE ((a0.c0) > (1))") or "INDEX" in q for q in check.queries)
    assert check.queries[1] != check.queries[0]
    assert oracle.judge(check, [[(2,)], [(2,)], [(2,)]]) is None
    found = oracle.judge(check, [[(2,)], [(2,)], [(2,), (3,)]])
    assert found is not None and (found.left, found.right) == (0, 2)


def test_plans_pinned_to_a_variant() -> None:
    check = Plans(per_check=1, only=("ignore-index",)).derive(CASE, MARIADB, 5)
    assert check is not None and check.variants == ("ignore-index",)
    assert check.queries[1] == "SELECT a0.c0 AS r0 FROM t0 AS a0 IGNORE INDEX (i1) WHERE ((a0.c0) > (1))"
    tidb = Plans(per_check=1, only=("use-index",)).derive(CASE, TIDB, 0)
    assert tidb is not None and tidb.queries[1].startswith("SELECT /*+ USE_INDEX(a0, i1) */ a0.c0")


def test_errors_oracle_runs_the_query_and_never_mismatches() -> None:
    check = derive("errors")
    assert check.queries == ("SELECT a0.c0 AS r0 FROM t0 AS a0 WHERE ((a0.c0) > (1))",)  # type: ignore[attr-defined]
    assert ORACLES["errors"].judge(check, [[(1,)]]) is None  # type: ignore[arg-type]
