"""The batch plan (hunt/batch.py): each statement once, each query once while nothing changed, every query sent
again after a statement between queries, and each check told where its rows are."""

from __future__ import annotations

from test_rig.hunt import ast as A
from test_rig.hunt.batch import Step, plan
from test_rig.hunt.oracles import Check, TlpWhere

CASE = A.Case_(A.Select((A.Item(A.Col("a0", "c0", A.T("int")), "r0"),), A.TableRef("t0", "a0")),
               A.Col("a0", "c0", A.T("int")), A.Select((), None))


def check(*queries: str) -> Step:
    return Step(oracle=TlpWhere(), case=CASE, check=Check("tlp-where", queries, tuple(f"q{i}" for i in queries)))


def statement(sql: str) -> Step:
    return Step(statement=A.Analyze("t0"), sql=sql)


def test_a_query_two_checks_share_is_sent_once_and_both_read_its_rows() -> None:
    p = plan([check("Q", "P"), check("Q", "N")], {})
    assert p.statements == ("Q", "P", "N")
    assert p.refs == ((0, 1), (0, 2))


def test_after_a_statement_between_queries_every_query_is_sent_again() -> None:
    p = plan([check("Q", "P"), statement("INSERT x"), check("Q", "P")], {})
    assert p.statements == ("Q", "P", "INSERT x", "Q", "P")
    assert p.refs == ((0, 1), 2, (3, 4))


def test_a_query_already_answered_in_this_state_is_not_sent_and_its_rows_are_the_answer() -> None:
    rows = [(1,)]
    p = plan([check("Q", "P"), statement("DELETE y"), check("Q")], {"Q": rows})
    assert p.statements == ("P", "DELETE y", "Q")
    assert p.refs == ((rows, 0), 1, (2,))
