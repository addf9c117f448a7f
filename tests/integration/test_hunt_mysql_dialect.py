"""The hunt's MySQL dialect, tested where MySQL and MariaDB coincide (no MySQL server package exists here).

A seeded hunt's statements rendered for MySQL (setup, the DML and DDL between queries, and every oracle's derived
queries, plans variants with MySQL's hints included) run on the MariaDB sandbox. Two differences are MySQL's own and
are left out, as documented in hunt/dialect.py: the utf8mb4_0900_ai_ci collation (MariaDB 10.11 has none; the
statement runs with utf8mb4_general_ci) and the session switches (MySQL's optimizer_switch flags, e.g.
block_nested_loop). Every error must be one the generated SQL may cause by the documented semantics (the errors
oracle's table): a syntax error or an unknown function would be a rendering MariaDB and MySQL both reject."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace

from test_rig.db import DatabaseError, Target, connect
from test_rig.hunt import render as R
from test_rig.hunt.dialect import MYSQL
from test_rig.hunt.expected import classify
from test_rig.hunt.generator import Generator
from test_rig.hunt.oracles import ORACLES
from test_rig.servers.sandbox import SandboxState


def mysql_statements(seed: int, cases: int) -> tuple[list[str], Counter[str]]:
    """The statements of a seeded hunt rendered for MySQL, and how many checks each oracle derived."""
    g = Generator(seed, 0, MYSQL)
    sqls = [R.statement(s, MYSQL) for s in g.setup()]
    derived: Counter[str] = Counter()
    for turn in range(cases):
        between = g.between_queries()
        if between is not None:
            sqls.append(R.statement(between, MYSQL))
        case = g.case()
        for name, oracle in ORACLES.items():
            check = oracle.derive(case, MYSQL, turn)
            if check is not None:
                derived[name] += 1
                sqls.extend(check.queries)
    return sqls, derived


def test_the_mysql_dialects_statements_run_on_mariadb_where_the_two_coincide(sandbox: SandboxState) -> None:
    async def run(sqls: list[str]) -> tuple[int, list[tuple[int | None, str, str]]]:
        base = Target("t", sandbox.host, sandbox.port, "root", "", None, 10)
        admin = await connect(base, database=False)
        await admin.execute("DROP DATABASE IF EXISTS rig_hunt_mysql_dialect")
        await admin.execute("CREATE DATABASE rig_hunt_mysql_dialect")
        conn = await connect(replace(base, database="rig_hunt_mysql_dialect"))
        sent, unexpected = 0, []
        try:
            for sql in sqls:
                if sql.startswith("SET "):  # MySQL's own session switches
                    continue
                sent += 1
                try:
                    await conn.execute(sql.replace("utf8mb4_0900_ai_ci", "utf8mb4_general_ci"))
                except DatabaseError as e:
                    if not classify("mariadb", e.code, e.message).expected:
                        unexpected.append((e.code, e.message, sql))
        finally:
            await conn.close()
            await admin.execute("DROP DATABASE IF EXISTS rig_hunt_mysql_dialect")
            await admin.close()
        return sent, unexpected

    sqls, derived = mysql_statements(seed=1, cases=120)
    assert set(derived) == set(ORACLES)  # every oracle's queries are among them
    assert any("utf8mb4_0900_ai_ci" in s for s in sqls)  # a column of MySQL's own collation (without the swap: 1273)
    assert any("/*+ " in s for s in sqls) and any("IGNORE INDEX" in s or "FORCE INDEX" in s for s in sqls)
    sent, unexpected = asyncio.run(run(sqls))
    assert sent > 1000
    assert unexpected == []
