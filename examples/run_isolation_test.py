"""A standalone isolation check through the test-rig library, configured like the CLI.

    python examples/run_isolation_test.py --host 127.0.0.1:3306 --user root --database test
    python examples/run_isolation_test.py --config tidb_config.json
    TIDB_HOST=... TIDB_USER=... TIDB_PASSWORD=... python examples/run_isolation_test.py

Priority is the CLI's: options > TIDB_* environment > config file > defaults. By default it runs a
two-connection repeatable-read check (T1 reads a row twice while T2 updates it and commits in between);
`--test NAME` runs one test of the isolation catalogue instead (e.g. --test G2-item), at
`--isolation-level` (default repeatable-read). Exits 0 when the server prevented the anomaly, 1 when
it showed it, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import uuid
from typing import Any

from test_rig import ConfigError, RigError, load_config
from test_rig.coordinator import Coordinator, Step
from test_rig.db import Target, connect, quote_ident


async def repeatable_read_check(target: Target, level: str) -> tuple[bool, str]:
    """True when T1's second read equals its first although T2 committed a change in between."""
    schema = f"rig_example_{uuid.uuid4().hex[:8]}"
    admin = await connect(target, database=False)
    table = f"{quote_ident(schema)}.test"
    await admin.execute(f"CREATE DATABASE {quote_ident(schema)}")
    try:
        await admin.execute(f"CREATE TABLE {table} (id INT PRIMARY KEY, value INT)")
        await admin.execute(f"INSERT INTO {table} VALUES (1, 10), (2, 20)")
        coordinator = Coordinator([target, target], names=["T1", "T2"])
        await coordinator.open(prepare=lambda conn: conn.set_isolation(level))
        try:
            result = await coordinator.run_script([
                Step("T1", "BEGIN"), Step("T2", "BEGIN"),
                Step("T1", f"SELECT value FROM {table} WHERE id = 1"),
                Step("T2", f"UPDATE {table} SET value = 11 WHERE id = 1"),
                Step("T2", "COMMIT"),
                Step("T1", f"SELECT value FROM {table} WHERE id = 1"),
                Step("T1", "COMMIT"),
            ])
        finally:
            await coordinator.close()
        first, second = result.steps[2].rows, result.steps[5].rows
        ok = first == second
        return ok, f"T1 read {first} then {second} after T2 committed 11"
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {quote_ident(schema)}")
        await admin.close()


async def catalogue_check(target: Target, test_name: str, level: str) -> tuple[bool, str]:
    from test_rig.isolation.catalogue import CATALOGUE
    from test_rig.isolation.runner import run_one

    if test_name not in CATALOGUE:
        raise ConfigError(f"Unknown isolation test {test_name!r}; choose one of {', '.join(CATALOGUE)}.")
    result = await run_one(target, CATALOGUE[test_name], level)
    return result.outcome == "prevented", f"{test_name} at {level}: {result.outcome} — {result.explanation}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Two-connection isolation check via test-rig.")
    ap.add_argument("-c", "--config")
    ap.add_argument("-H", "--host")
    ap.add_argument("-u", "--user")
    ap.add_argument("-p", "--password")
    ap.add_argument("-d", "--database")
    ap.add_argument("--isolation-level", default="repeatable-read")
    ap.add_argument("--test", help="run one catalogue test (G0, G1a, ..., G2) instead of the default check")
    args = ap.parse_args(argv)
    given: dict[str, Any] = {k: v for k, v in {"database.host": args.host, "database.username": args.user,
                                               "database.password": args.password,
                                               "database.database": args.database}.items() if v is not None}
    try:
        cfg = load_config(args.config, given).config
        target = Target.from_config(cfg)
        check = (catalogue_check(target, args.test, args.isolation_level) if args.test
                 else repeatable_read_check(target, args.isolation_level))
        ok, explanation = asyncio.run(check)
    except RigError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_status
    print(("PREVENTED: " if ok else "ANOMALY: ") + explanation)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
