"""sysbench's OLTP workloads (oltp_read_write and its family) on the free-running load path, compatible enough
that numbers compare: the `sbtest<N>` schema and data, the same statements per transaction for the same
options, sysbench's random distributions, and its rule for errors (`--mysql-ignore-errors`).

Written from reading sysbench 1.0.20's `oltp_common.lua`, the workload scripts and `sb_rand.c` (the statements
are identical in sysbench's master). Pure where it can be: the schema, the rows `prepare` inserts, each
transaction's statements and their counts are functions of the options and a random generator, tested on data;
the operation a worker repeats (`OltpWorkload`) sends them and records each statement type's count, errors and
latency; `prepare`, `cleanup`, `check_prepared` and `run` are the feature functions the command line calls.

What differs from sysbench, on purpose: statements go over the text protocol (sysbench prepares them on the
server by default: compare with `sysbench --db-ps-mode=disable` for the same protocol); after an error the
transaction is rolled back with ROLLBACK before it is run again (sysbench's next BEGIN commits what is left);
an error `--mysql-ignore-errors` does not cover fails that transaction and the run goes on (sysbench stops),
and it fails the run's verdict unless a nemesis was asked for; a lost connection is never retried in place:
the loop reconnects, as for every bench workload.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import struct
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

from test_rig.db import Connection, Target, answer_lost, connect, connect_existing, drop_tables
from test_rig.errors import DatabaseError, UsageError, by_code_text, code_key, is_lost_connection
from test_rig.load.fast import Script, run_script, run_transactions
from test_rig.options import option
from test_rig.results import RunResult

if TYPE_CHECKING:
    from test_rig.coordinator import Coordinator, FreeRunResult
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadEvents, LoadSettings
    from test_rig.resilience import ResilientConnectionManager

# --------------------------------------------------------------------------- names

#: Our command names for sysbench's scripts (sysbench's own name: underscores, `oltp_read_write`), and what each
#: sends per transaction (or event).
WORKLOADS = {
    "oltp-read-only": "point and range SELECTs in a transaction.",
    "oltp-read-write": "SELECTs, UPDATEs, a DELETE and an INSERT in a transaction.",
    "oltp-write-only": "UPDATEs, a DELETE and an INSERT in a transaction.",
    "oltp-insert": "one INSERT per event.",
    "oltp-update-index": "UPDATEs of the indexed k, autocommit.",
    "oltp-update-non-index": "UPDATEs of c, autocommit.",
    "oltp-delete": "one DELETE per event.",
    "oltp-point-select": "one point SELECT per event.",
    "select-random-points": "SELECT ... WHERE k IN (random points) on sbtest1.",
    "select-random-ranges": "SELECT count(k) over random k ranges on sbtest1.",
}

#: Statement types, in report order; sysbench's class for each (its "queries performed": read, write, other).
KINDS = ("point_select", "simple_range", "sum_range", "order_range", "distinct_range", "random_points",
         "random_ranges", "index_update", "non_index_update", "delete", "insert", "begin", "commit", "rollback")
CLASS = {**dict.fromkeys(KINDS[:7], "read"), **dict.fromkeys(KINDS[7:11], "write"),
         **dict.fromkeys(KINDS[11:], "other")}
_INDEX = {k: i for i, k in enumerate(KINDS)}
_FIRST_NON_READ = _INDEX["index_update"]
_ROLLBACK = _INDEX["rollback"]

#: sysbench 1.0's default --mysql-ignore-errors: deadlock, record changed since last read, lock wait timeout.
DEFAULT_IGNORE_ERRORS = "1213,1020,1205"
#: Consecutive restarts of one transaction after ignored errors before its error is let through (sysbench has
#: no bound; one keeps a run from spinning on an error that always comes back).
MAX_RESTARTS = 100
RAND_TYPES = ("special", "uniform", "gaussian", "pareto")


def parse_ignore_errors(text: str) -> frozenset[int] | None:
    """`--mysql-ignore-errors` as sysbench reads it: `all`, `none` (or empty), or codes separated by commas.
    Raises UsageError for anything else."""
    text = text.strip()
    if text.lower() == "all":
        return None
    if text.lower() in ("", "none"):
        return frozenset()
    codes: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part.isdecimal():
            raise UsageError(f"--mysql-ignore-errors {text}: '{part}' is not an error code; give codes separated "
                             f"by commas (sysbench's default is {DEFAULT_IGNORE_ERRORS}), all, or none.")
        codes.add(int(part))
    return frozenset(codes)


@dataclass(frozen=True)
class OltpOptions:
    """sysbench's options for the OLTP scripts, with its defaults and help texts (test_rig.options: the bench
    commands' options are made from them; plus `threads`: the connections in one worker process, which
    select-random-points/ranges partition the table by, as sysbench does by --threads)."""

    tables: int = option(1, "Number of tables (sbtest1..N).")
    table_size: int = option(10_000, "Rows per table.")
    range_size: int = option(100, "Rows per range SELECT.")
    point_selects: int = option(10, "Point SELECTs per transaction.")
    simple_ranges: int = option(1, "Simple range SELECTs per transaction.")
    sum_ranges: int = option(1, "SELECT SUM() per transaction.")
    order_ranges: int = option(1, "SELECT ... ORDER BY per transaction.")
    distinct_ranges: int = option(1, "SELECT DISTINCT per transaction.")
    index_updates: int = option(1, "UPDATEs of the indexed column k per transaction.")
    non_index_updates: int = option(1, "UPDATEs of c (not indexed) per transaction.")
    delete_inserts: int = option(1, "DELETE + INSERT pairs per transaction.")
    range_selects: bool = option(True, "Send the range SELECTs at all.", onoff=True)
    skip_trx: bool = option(False, "No BEGIN/COMMIT: every statement in autocommit.", onoff=True)
    auto_inc: bool = option(True, "AUTO_INCREMENT id (off: client-generated ids).", onoff=True)
    create_secondary: bool = option(True, "Create the secondary index on k.", onoff=True)
    rand_type: str = option("special", "Distribution of ids and k values (sysbench 1.0's default: special).",
                            choices=RAND_TYPES)
    rand_spec_pct: int = option(1, "special: percentage of the range that gets most values.")
    rand_spec_res: int = option(75, "special: percentage of values that fall there.")
    rand_spec_iter: int = 12
    rand_pareto_h: float = 0.2
    #: error codes that restart a transaction; None: every error (sysbench's `all`)
    ignore_errors: frozenset[int] | None = option(
        parse_ignore_errors(DEFAULT_IGNORE_ERRORS), "Errors that roll the transaction back and run it again "
        "(sysbench 1.0's default: deadlock, record changed, lock wait timeout); any other error fails the "
        "transaction and, without --nemesis, the run.", flag="--mysql-ignore-errors", metavar="CODES|all|none",
        parse=parse_ignore_errors, as_typed=DEFAULT_IGNORE_ERRORS)
    random_points: int = option(10, "Values in the IN () list.")
    number_of_ranges: int = option(10, "BETWEEN ranges per SELECT.")
    delta: int = option(5, "Width of each range.")
    threads: int = 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ignore_errors"] = "all" if self.ignore_errors is None else sorted(self.ignore_errors)
        return out


def check_options(workload: str | None, opts: OltpOptions) -> None:
    """Refuse options sysbench would refuse or that cannot run, with one sentence each (UsageError)."""
    if workload is not None and workload not in WORKLOADS:
        raise UsageError(f"Unknown workload {workload}; choose one of {', '.join(WORKLOADS)}.")
    if opts.tables < 1:
        raise UsageError(f"--tables {opts.tables}: the tables are sbtest1, sbtest2, ...; give --tables 1 or more.")
    if opts.rand_type not in RAND_TYPES:
        raise UsageError(f"--rand-type {opts.rand_type} is not one of {', '.join(RAND_TYPES)}.")
    if not 0 < opts.rand_spec_res < 100 or not 0 < opts.rand_spec_pct <= 100:
        raise UsageError("--rand-spec-pct must be 1..100 and --rand-spec-res 1..99 (percentages).")
    needs_rows = workload not in (None, "oltp-insert")
    if needs_rows and opts.table_size < 1:
        raise UsageError(f"--table-size {opts.table_size}: {workload} picks rows by id from 1 to --table-size; "
                         "give the size the tables were prepared with.")
    for name in ("range_size", "point_selects", "simple_ranges", "sum_ranges", "order_ranges", "distinct_ranges",
                 "index_updates", "non_index_updates", "delete_inserts", "random_points", "number_of_ranges",
                 "delta"):
        if getattr(opts, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} {getattr(opts, name)} is negative; give 0 or more.")
    if workload is not None and not statements_per_transaction(workload, opts):
        raise UsageError(f"{workload} with these options sends no statement in a transaction; give one of its "
                         "statement counts (--point-selects, --index-updates, ...) 1 or more.")
    if workload == "select-random-points" and opts.random_points < 1:
        raise UsageError("--random-points must be 1 or more: it is the number of values in the IN () list.")
    if workload == "select-random-ranges" and opts.number_of_ranges < 1:
        raise UsageError("--number-of-ranges must be 1 or more: it is the number of BETWEEN ranges.")


# --------------------------------------------------------------------------- sysbench's random numbers


#: bytes.translate tables for the digit pool: a byte below 250 gives its value modulo 10 as a digit, from 250 up
#: it is dropped (so that each digit is drawn from 25 byte values).
_DIGIT_OF_BYTE = bytes(b"0123456789"[i % 10] for i in range(256))
_BYTES_OVER_249 = bytes(range(250, 256))
_UNIQUE_PRIME = 4294967291  # the largest prime below 2**32, with prime % 4 == 3


def _permute(x: int) -> int:
    """A permutation of 0..2**32-1 by quadratic residues (J. Preshing's unique random sequence, which sysbench's
    rand.unique uses): every input below the prime maps to a distinct output."""
    if x >= _UNIQUE_PRIME:
        return x
    residue = x * x % _UNIQUE_PRIME
    return residue if x <= _UNIQUE_PRIME // 2 else _UNIQUE_PRIME - residue


def _special_cut(t: int, res_mult: float) -> float:
    """The least draw r in [0, 1] that fails SysbenchRandom.special's test `r * t * res_mult < t` for a range of
    width `t` >= 0 (1.0 when none below 1 does): the test is then `r < cut`, for every draw the same answer. The
    product of r and positive constants, rounded, never decreases as r grows, so the draws that pass are those
    below one float, found by bisecting the bit patterns of the floats in [0, 1] (ordered as the floats are).
    Why (measured, issue 20): the two products a value cost 10 % of drawing a transaction's 18 ids (5.3 -> 4.8 us
    an oltp_read_write transaction)."""
    def fails(r: float) -> bool:
        return not r * t * res_mult < t

    if not fails(1.0):
        return 1.0
    if fails(0.0):
        return 0.0
    low, high = 0, _float_bits(1.0)  # fails(high), not fails(low)
    while high - low > 1:
        middle = (low + high) // 2
        if fails(_bits_float(middle)):
            high = middle
        else:
            low = middle
    return _bits_float(high)


def _float_bits(x: float) -> int:
    return int.from_bytes(struct.pack("<d", x), "little")


def _bits_float(bits: int) -> float:
    return float(struct.unpack("<d", bits.to_bytes(8, "little"))[0])


class SysbenchRandom:
    """sysbench's random values on top of one `random.Random`: `default(a, b)` in the --rand-type distribution
    (sysbench's default, `special`: 75 % of values uniform within the middle 1 % of the range, the rest nearly
    normal over all of it), `uniform`, the `c` and `pad` strings, and `unique` 32-bit values."""

    def __init__(self, rng: random.Random, opts: OltpOptions) -> None:
        self.rng = rng
        self.random = rng.random
        self.iter = opts.rand_spec_iter
        self.iter_mult = 1.0 / opts.rand_spec_iter
        self.pct_mult = opts.rand_spec_pct / 100.0
        self.pct_2_mult = opts.rand_spec_pct / 200.0
        self.res_mult = 100.0 / (100.0 - opts.rand_spec_res)
        self.pareto_power = math.log(opts.rand_pareto_h) / math.log(1.0 - opts.rand_pareto_h)
        self.default: Callable[[int, int], int] = {
            "special": self.special, "uniform": self.uniform, "gaussian": self.gaussian,
            "pareto": self.pareto}[opts.rand_type]
        self._special = opts.rand_type == "special"
        #: For `defaults`: the generator repeated --rand-spec-iter times, each drawn by `random` in C (map), not in a
        #: Python loop (the sum of 12 draws was a third of the bytecodes of drawing a transaction's statements).
        self._draws = [rng] * opts.rand_spec_iter
        self._random_of = type(rng).random
        self._unique_index = rng.getrandbits(32)
        self._unique_offset = rng.getrandbits(32)
        self._digits = b""
        self._digits_at = 0
        #: `defaults`: _special_cut of each range width seen.
        self._cuts: dict[int, float] = {}

    def uniform(self, a: int, b: int) -> int:
        return a + int(self.random() * (b - a + 1))

    def uniforms(self, a: int, b: int, k: int) -> list[int]:
        """`k` values of `uniform(a, b)` in one call."""
        width, random_ = b - a + 1, self.random
        return [a + int(random_() * width) for _ in range(k)]

    def gaussian(self, a: int, b: int) -> int:
        t = b - a + 1
        random_ = self.random
        return a + int(sum(random_() * t for _ in range(self.iter)) * self.iter_mult)

    def special(self, a: int, b: int) -> int:
        t = b - a
        rnd = self.random()
        if rnd * t * self.res_mult < t:  # (100 - res) % of the values: nearly normal over [a, b]
            random_ = self.random
            total = 0.0
            for _ in range(self.iter):
                total += random_()
            return a + int(total * t * self.iter_mult)
        # the others: the same uniform draw mapped onto the pct % of the range around its middle
        return a + int(rnd * (t * self.pct_mult + 1) + t / 2 - t * self.pct_2_mult)

    def pareto(self, a: int, b: int) -> int:
        return a + int((b - a + 1) * self.random() ** self.pareto_power)

    def defaults(self, a: int, b: int, k: int) -> list[int]:
        """`k` values of `default(a, b)` in one call: the same formulas on the same draws as `k` calls (a
        transaction's ids are drawn at once: a call per value cost more than the value)."""
        t = b - a
        if not self._special or t < 0:
            return [self.default(a, b) for _ in range(k)]
        cut = self._cuts.get(t)
        if cut is None:
            cut = self._cuts[t] = _special_cut(t, self.res_mult)
        random_of, draws, iter_mult = self._random_of, self._draws, self.iter_mult
        width, half, shift = t * self.pct_mult + 1, t / 2, t * self.pct_2_mult
        out: list[int] = []
        append = out.append
        # each first draw taken when the loop gets to it (map is lazy), after the previous value's own draws
        for rnd in map(random_of, itertools.repeat(self.rng, k)):
            if rnd < cut:  # special's `rnd * t * res_mult < t`
                # the draws summed in order from 0, as `special`'s loop adds them: the same float
                append(a + int(sum(map(random_of, draws)) * t * iter_mult))
            else:
                append(a + int(rnd * width + half - shift))
        return out

    def digits(self, groups: int) -> bytes:
        """`groups` groups of 11 random decimal digits joined by dashes (sysbench's c and pad templates): a slice of
        a pool of such groups, made a few thousand digits at a time from random bytes (the bytes from 250 up
        dropped, the rest taken modulo 10: every digit equally likely, as sysbench's '#' is)."""
        size = 12 * groups - 1
        at = self._digits_at
        if at + size > len(self._digits):
            self._digits = self._digit_pool(max(1024, groups))
            at = 0
        self._digits_at = at + size + 1
        return self._digits[at:at + size]

    def _digit_pool(self, groups: int) -> bytes:
        wanted = 11 * groups
        digits = b""
        while len(digits) < wanted:
            digits += self.rng.randbytes(wanted + wanted // 16).translate(_DIGIT_OF_BYTE, _BYTES_OVER_249)
        pool = bytearray(12 * groups)
        for i in range(11):  # digit i of every group, then the dash after each group: 12 copies in C
            pool[i::12] = digits[i:wanted:11]
        pool[11::12] = b"-" * groups
        return bytes(pool)

    def c_value(self) -> str:
        """119 characters: ten groups of 11 digits."""
        return self.digits(10).decode()

    def pad_value(self) -> str:
        """59 characters: five groups of 11 digits."""
        return self.digits(5).decode()

    def unique(self) -> int:
        """The next of a random sequence of distinct 32-bit values (distinct within this generator)."""
        index = self._unique_index
        self._unique_index = (index + 1) & 0xFFFFFFFF
        return _permute((_permute(index) + self._unique_offset) & 0xFFFFFFFF) ^ 0x5BF03635


# --------------------------------------------------------------------------- the schema and its rows


def table_name(n: int) -> str:
    return f"sbtest{n}"


def create_table_sql(n: int, opts: OltpOptions) -> str:
    """sysbench's CREATE TABLE for table n (MySQL driver; TiDB reads the same)."""
    id_def = "INTEGER NOT NULL AUTO_INCREMENT" if opts.auto_inc else "INTEGER NOT NULL"
    return (f"CREATE TABLE {table_name(n)}(\n  id {id_def},\n  k INTEGER DEFAULT '0' NOT NULL,\n"
            "  c CHAR(120) DEFAULT '' NOT NULL,\n  pad CHAR(60) DEFAULT '' NOT NULL,\n  PRIMARY KEY (id)\n"
            ") /*! ENGINE = innodb */")


def create_index_sql(n: int) -> str:
    """The secondary index on k, created after the rows are in, as sysbench does."""
    return f"CREATE INDEX k_{n} ON {table_name(n)}(k)"


def insert_batches(n: int, opts: OltpOptions, rnd: SysbenchRandom, batch: int = 1000) -> Any:
    """The INSERT statements that load table n with `opts.table_size` rows, `batch` rows each: k drawn from the
    default distribution over 1..table_size, c and pad random digit groups; ids 1.. given explicitly without
    --auto-inc, else assigned by the server (which numbers them 1.. on a new table)."""
    head = (f"INSERT INTO {table_name(n)}(k, c, pad) VALUES " if opts.auto_inc
            else f"INSERT INTO {table_name(n)}(id, k, c, pad) VALUES ")
    size = opts.table_size
    default = rnd.default
    for first in range(1, size + 1, batch):
        rows = []
        for i in range(first, min(first + batch, size + 1)):
            k = default(1, size)
            c, pad = rnd.c_value(), rnd.pad_value()
            rows.append(f"({k}, '{c}', '{pad}')" if opts.auto_inc else f"({i}, {k}, '{c}', '{pad}')")
        yield head + ",".join(rows)


# --------------------------------------------------------------------------- what a transaction sends


#: Each workload's event as sysbench's script writes it: groups of (kind, option giving the repeat count or an
#: int). Each group picks its table once (sysbench's execute_* functions); BEGIN/COMMIT wrap the groups of the
#: transactional scripts unless --skip-trx; "delete_insert" is a DELETE and an INSERT of the same id.
_READS = (("point_select", "point_selects"), ("simple_range", "simple_ranges"), ("sum_range", "sum_ranges"),
          ("order_range", "order_ranges"), ("distinct_range", "distinct_ranges"))
_WRITES = (("index_update", "index_updates"), ("non_index_update", "non_index_updates"),
           ("delete_insert", "delete_inserts"))


def plan(workload: str, opts: OltpOptions) -> list[tuple[str, int]]:
    """The groups of one transaction of `workload` with `opts`: [(kind, how many), ...] in sysbench's order."""
    def count(option: str | int) -> int:
        return option if isinstance(option, int) else int(getattr(opts, option))

    reads = [(k, count(o)) for k, o in (_READS if opts.range_selects else _READS[:1])]
    writes = [(k, count(o)) for k, o in _WRITES]
    groups: list[tuple[str, int]]
    transactional = True
    if workload == "oltp-read-only":
        groups = reads
    elif workload == "oltp-read-write":
        groups = reads + writes
    elif workload == "oltp-write-only":
        groups = writes
    else:
        transactional = False
        groups = {"oltp-insert": [("insert_event", 1)], "oltp-delete": [("delete", 1)],
                  "oltp-point-select": [("point_select", 1)],  # its script forces --point-selects=1
                  "oltp-update-index": [("index_update", opts.index_updates)],
                  "oltp-update-non-index": [("non_index_update", opts.non_index_updates)],
                  "select-random-points": [("random_points", 1)],
                  "select-random-ranges": [("random_ranges", 1)]}[workload]
    if transactional and not opts.skip_trx:
        groups = [("begin", 1), *groups, ("commit", 1)]
    return groups


def statements_per_transaction(workload: str, opts: OltpOptions) -> dict[str, int]:
    """How many statements of each type one transaction sends (sysbench's count for the same options), by
    type, without the types it sends none of."""
    counts: Counter[str] = Counter()
    for kind, n in plan(workload, opts):
        if kind == "delete_insert":
            counts["delete"] += n
            counts["insert"] += n
        elif kind == "insert_event":
            counts["insert"] += n
        else:
            counts[kind] += n
    return {k: counts[k] for k in KINDS if counts[k]}


Statement = tuple[int, bytes]  # (index in KINDS, SQL)
#: One group of a transaction: appends its statements to the list (random values, worker index, the statements so
#: far, the transaction's ids, its groups' tables); each group knows where its ids and its table are in those lists.
_Step = Callable[[SysbenchRandom, int, list[Statement], list[int], list[int]], None]


def _by_table(template: bytes, tables: int) -> list[bytes]:
    """`template` (its table `sbtest%d`) for each table number 1..tables (index 0 unused), the table written in."""
    return [b""] + [template.replace(b"sbtest%d", b"sbtest%d" % t, 1) for t in range(1, max(tables, 1) + 1)]


def generator(workload: str, opts: OltpOptions) -> Callable[[SysbenchRandom, int], list[Statement]]:
    """The function that draws one transaction's statements: (random values, worker index) -> [(kind index,
    SQL), ...]. Values are written into the SQL (text protocol); they are digits and dashes only.

    Made for speed (this runs once a transaction, in the load's one thread): the SQL is bytes formatted from
    templates made here, one per table with its name written in (a point select's is then `%` of one int, no
    tuple; with BEGIN and COMMIT put in place, not appended by steps of their own: 13.6 -> 12.7 us of Python an
    oltp_read_write transaction, then 12.2 with the cut of `defaults`); the ids of a transaction (sysbench's
    default(1, table size)) are drawn in one call, and the tables of its groups (sysbench's execute_* functions
    pick one each) in another, only with several tables."""
    size, tables, span = opts.table_size, opts.tables, opts.range_size - 1
    steps: list[_Step] = []
    ids = 0  # the ids one transaction draws so far
    groups = 0  # its groups that pick a table so far

    def take(n: int) -> tuple[int, int]:
        """Where the next group's `n` ids start, and its table's place."""
        nonlocal ids, groups
        ids, groups = ids + n, groups + 1
        return ids - n, groups - 1

    def repeat(kind: str, n: int, template: bytes) -> None:
        index = _INDEX[kind]
        by_table = _by_table(template, tables)
        first, slot = take(n)

        def step(_rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
            sql = by_table[tabs[slot]]
            out.extend([(index, sql % v) for v in ids[first:first + n]])

        def one(_rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
            out.append((index, by_table[tabs[slot]] % ids[first]))
        # a group of one statement (most of sysbench's defaults) without a comprehension's call and slice
        steps.append(one if n == 1 else step)

    def ranged(kind: str, n: int, head: bytes, tail: bytes) -> None:
        index = _INDEX[kind]
        by_table = _by_table(head + b" FROM sbtest%d WHERE id BETWEEN %d AND %d" + tail, tables)
        first, slot = take(n)

        def step(_rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
            sql = by_table[tabs[slot]]
            out.extend([(index, sql % (low, low + span)) for low in ids[first:first + n]])

        def one(_rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
            low = ids[first]
            out.append((index, by_table[tabs[slot]] % (low, low + span)))
        steps.append(one if n == 1 else step)

    groups_plan = plan(workload, opts)
    # BEGIN and COMMIT (the transactional scripts' first and last statements) are put in by `transaction` itself
    opening: list[Statement] = []
    closing: list[Statement] = []
    if groups_plan and groups_plan[0][0] == "begin":
        opening = [(_INDEX["begin"], b"BEGIN")]
        groups_plan = groups_plan[1:]
    if groups_plan and groups_plan[-1][0] == "commit":
        closing = [(_INDEX["commit"], b"COMMIT")]
        groups_plan = groups_plan[:-1]
    for kind, n in groups_plan:
        if kind == "point_select":
            repeat(kind, n, b"SELECT c FROM sbtest%d WHERE id=%d")
        elif kind == "simple_range":
            ranged(kind, n, b"SELECT c", b"")
        elif kind == "sum_range":
            ranged(kind, n, b"SELECT SUM(k)", b"")
        elif kind == "order_range":
            ranged(kind, n, b"SELECT c", b" ORDER BY c")
        elif kind == "distinct_range":
            ranged(kind, n, b"SELECT DISTINCT c", b" ORDER BY c")
        elif kind == "index_update":
            repeat(kind, n, b"UPDATE sbtest%d SET k=k+1 WHERE id=%d")
        elif kind == "non_index_update":
            steps.append(_non_index_updates(n, *take(n), tables))
        elif kind == "delete":  # oltp-delete's one statement
            repeat(kind, n, b"DELETE FROM sbtest%d WHERE id=%d")
        elif kind == "delete_insert":
            steps.append(_delete_inserts(n, *take(2 * n), tables))
        elif kind == "insert_event":
            steps.append(_insert_event(opts, take(0)[1]))
        elif kind == "random_points":
            steps.append(_random_points(opts))
        elif kind == "random_ranges":
            steps.append(_random_ranges(opts))
    ones = [1] * groups

    def transaction(rnd: SysbenchRandom, worker: int) -> list[Statement]:
        out = opening.copy()
        drawn = rnd.defaults(1, size, ids)
        tabs = ones if tables == 1 else rnd.uniforms(1, tables, groups)
        for step in steps:
            step(rnd, worker, out, drawn, tabs)
        out += closing
        return out

    return transaction


def script_kinds(workload: str, opts: OltpOptions) -> tuple[int, ...]:
    """The statement types (indexes in KINDS) of every transaction of `workload` with `opts`, in order."""
    return tuple(kind for kind, _ in generator(workload, opts)(SysbenchRandom(random.Random(0), opts), 0))


def _non_index_updates(n: int, first: int, slot: int, tables: int) -> _Step:
    index = _INDEX["non_index_update"]
    by_table = _by_table(b"UPDATE sbtest%d SET c='%b' WHERE id=%d", tables)

    def step(rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
        sql = by_table[tabs[slot]]
        digits = rnd.digits
        out.extend([(index, sql % (digits(10), v)) for v in ids[first:first + n]])
    return step


def _delete_inserts(n: int, first: int, slot: int, tables: int) -> _Step:
    delete, insert = _INDEX["delete"], _INDEX["insert"]
    deletes = _by_table(b"DELETE FROM sbtest%d WHERE id=%d", tables)
    inserts = _by_table(b"INSERT INTO sbtest%d (id, k, c, pad) VALUES (%d, %d, '%b', '%b')", tables)

    def step(rnd: SysbenchRandom, _worker: int, out: list[Statement], ids: list[int], tabs: list[int]) -> None:
        t = tabs[slot]
        delete_sql, insert_sql, digits = deletes[t], inserts[t], rnd.digits
        for i in range(first, first + 2 * n, 2):
            row_id = ids[i]
            out.append((delete, delete_sql % row_id))
            out.append((insert, insert_sql % (row_id, ids[i + 1], digits(10), digits(5))))
    return step


def _insert_event(opts: OltpOptions, slot: int) -> _Step:
    insert, size, auto = _INDEX["insert"], opts.table_size, opts.auto_inc

    def step(rnd: SysbenchRandom, _worker: int, out: list[Statement], _ids: list[int], tabs: list[int]) -> None:
        k = rnd.default(1, max(size, 1))
        c, pad = rnd.digits(10), rnd.digits(5)
        # id 0 lets AUTO_INCREMENT choose; else a unique value as a signed INT, as sysbench does
        row_id = 0 if auto else rnd.unique() - 2147483648
        out.append((insert, b"INSERT INTO sbtest%d (id, k, c, pad) VALUES (%d, %d, '%b', '%b')"
                    % (tabs[slot], row_id, k, c, pad)))
    return step


def _segment(opts: OltpOptions, worker: int) -> tuple[int, int]:
    """select-random-*: each of the `threads` workers draws from its own slice of 0..table_size (sysbench's
    rlen = table_size / threads, the slice of thread id % threads)."""
    rlen = opts.table_size / max(opts.threads, 1)
    low = rlen * (worker % max(opts.threads, 1))
    return int(low), int(low + rlen)


def _random_points(opts: OltpOptions) -> _Step:
    kind, points = _INDEX["random_points"], opts.random_points

    def step(rnd: SysbenchRandom, worker: int, out: list[Statement], _ids: list[int], _tabs: list[int]) -> None:
        low, high = _segment(opts, worker)
        values = b", ".join(b"%d" % v for v in rnd.defaults(low, high, points))
        out.append((kind, b"SELECT id, k, c, pad FROM sbtest1 WHERE k IN (%b)" % values))
    return step


def _random_ranges(opts: OltpOptions) -> _Step:
    kind, ranges, delta = _INDEX["random_ranges"], opts.number_of_ranges, opts.delta

    def step(rnd: SysbenchRandom, worker: int, out: list[Statement], _ids: list[int], _tabs: list[int]) -> None:
        low, high = _segment(opts, worker)
        parts = b" OR ".join(b"k BETWEEN %d AND %d" % (v, v + delta) for v in rnd.defaults(low, high, ranges))
        out.append((kind, b"SELECT count(k) FROM sbtest1 WHERE " + parts))
    return step


# --------------------------------------------------------------------------- the operation a worker repeats


@dataclass(frozen=True)
class OltpSpec:
    """One OLTP workload as picklable data: what bench.run_bench, worker processes and Ray actors build the
    operation from (`operation()`)."""

    name: str
    options: OltpOptions

    def operation(self) -> OltpWorkload:
        return OltpWorkload(self.name, self.options)


class OltpWorkload:
    """One transaction of the workload per call, on the worker's connection. Every statement sent is counted by
    type, its latency recorded when it succeeds and its error by code when it fails; an error in
    `--mysql-ignore-errors` rolls the transaction back and runs it again with new values (its latency, as the
    loop measures it, includes the restarts, like sysbench's event time); any other error rolls it back and
    fails it. One object serves every worker of a process (one event loop: no locks)."""

    def __init__(self, name: str, opts: OltpOptions) -> None:
        from hdrh.histogram import HdrHistogram

        self.name = name
        self.opts = opts
        self.generate = generator(name, opts)
        self.sent = [0] * len(KINDS)
        self.failed: list[Counter[str]] = [Counter() for _ in KINDS]
        self.histograms = [HdrHistogram(1, 3_600_000_000, 3) for _ in KINDS]
        #: Latencies (µs) not yet counted: appended per statement (fast.run_script), counted by value in blocks
        #: (Counter.update, C) and recorded in `histograms` once per distinct value when the figures are asked for
        #: (recording each one in an HdrHistogram costs more than the statement's own client CPU).
        self.latencies: list[list[int]] = [[] for _ in KINDS]
        self.latency_counts: list[Counter[int]] = [Counter() for _ in KINDS]
        self.calls = 0
        self.ignored: Counter[str] = Counter()
        self.ignore = opts.ignore_errors
        #: Statement types from here on write: lost before their answer, their outcome is unknown.
        self.writes_from = _FIRST_NON_READ
        #: The statement types of every transaction, in order (the same in each: `plan` fixes them; drawn once
        #: here, on a generator of its own): what the whole-run loop counts by (fast.TransactionLoop).
        self.kinds = script_kinds(name, opts)

    async def __call__(self, conn: Connection, worker: Any) -> None:
        rnd = worker.data.get("oltp_random")
        if rnd is None:
            rnd = worker.data["oltp_random"] = SysbenchRandom(worker.rng, self.opts)
        self.count()
        await self.attempt(conn, rnd, worker.index, 0)

    def count(self) -> None:
        """One transaction begun: the latencies are counted by value every 4096 of them."""
        self.calls += 1
        if not self.calls & 0xFFF:
            self._fold()

    async def attempt(self, conn: Connection, rnd: SysbenchRandom, index: int, restarts: int) -> None:
        """The transaction run until it succeeds, restarted after ignored errors (`restarts` of them so far);
        raises the error that fails it."""
        while True:
            script = self.generate(rnd, index)
            outcome = await run_script(conn, script, self.latencies, self.sent, writes_from=self.writes_from)
            if outcome is None:
                return
            restarts = await self.failed_at(conn, script, outcome, restarts)

    async def failed_at(self, conn: Connection, script: Script, outcome: tuple[int, DatabaseError],
                        restarts: int) -> int:
        """A statement of `script` failed (`outcome`: its place, its error): counted by code, the transaction
        rolled back when the server still holds it open; returns the restarts so far when the error is one to
        restart after (--mysql-ignore-errors), else raises it."""
        at, e = outcome
        code = code_key(e)
        self.failed[script[at][0]][code] += 1
        lost = is_lost_connection(e) or conn.closed
        if conn.in_transaction and not lost:
            await self._rollback(conn)
        ignored = self.ignore is None or (e.code is not None and e.code in self.ignore)
        if lost or not ignored or restarts >= MAX_RESTARTS:
            raise e
        self.ignored[code] += 1
        return restarts + 1

    async def run_free(self, coordinator: Coordinator, *, duration: float, seed: int = 0,
                       manager: ResilientConnectionManager | None = None, reconnect_timeout: float = 30.0,
                       on_interrupt: Callable[[FreeRunResult], None] | None = None,
                       on_second: Callable[[int, int, int], None] | None = None,
                       start_at: float | None = None, op_timeout: float | None = None) -> FreeRunResult:
        """The free-running loop of `Coordinator.run_free` (same arguments, same result) as one loop of protocol
        callbacks per connection (load.fast.run_transactions): no coroutine or Future per transaction."""
        return await run_transactions(
            coordinator, self, lambda index, rng: SysbenchRandom(rng, self.opts), duration=duration, seed=seed,
            manager=manager, reconnect_timeout=reconnect_timeout, on_interrupt=on_interrupt,
            on_second=on_second, start_at=start_at, op_timeout=op_timeout)

    async def _rollback(self, conn: Connection) -> None:
        self.sent[_ROLLBACK] += 1
        t = time.perf_counter()
        try:
            await conn.execute("ROLLBACK")
        except DatabaseError as e:
            self.failed[_ROLLBACK][code_key(e)] += 1
            return  # the statement's own error is what the caller reports
        self.latencies[_ROLLBACK].append(int((time.perf_counter() - t) * 1_000_000) or 1)

    def _fold(self) -> None:
        for counts, latencies in zip(self.latency_counts, self.latencies, strict=True):
            counts.update(latencies)
            latencies.clear()

    def _record(self) -> None:
        self._fold()
        for histogram, counts in zip(self.histograms, self.latency_counts, strict=True):
            for micros, count in counts.items():
                histogram.record_value(min(micros, 3_600_000_000), count)
            counts.clear()

    def named_stats(self) -> dict[str, Any]:
        """What this process's workers sent, as plain data that several processes' results merge by adding
        (coordinator.merge_named): per statement type, ok count, errors by code, HDR latency histogram."""
        self._record()
        statements = {}
        for i, kind in enumerate(KINDS):
            if self.sent[i]:
                failed = self.failed[i]
                statements[kind] = {"ok": self.sent[i] - sum(failed.values()), "errors": dict(failed),
                                    "histogram": self.histograms[i].encode().decode("ascii")}
        return {"statements": statements, "ignored_errors": dict(self.ignored)}


# --------------------------------------------------------------------------- the report


def _hist_ms(encoded: str) -> dict[str, float]:
    from hdrh.histogram import HdrHistogram

    h = HdrHistogram.decode(encoded)
    if h.get_total_count() == 0:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    out = {f"p{p}_ms": round(h.get_value_at_percentile(p) / 1000.0, 3) for p in (50, 95, 99)}
    out["max_ms"] = round(h.get_max_value() / 1000.0, 3)
    return out


def summarize(workload: str, opts: OltpOptions, named: dict[str, Any] | None, transactions: int,
              failed_transactions: int, seconds: float) -> dict[str, Any]:
    """The OLTP part of a run's result: transactions/s, every statement type's count, rate, errors and latency
    percentiles, sysbench's read/write/other sums, the errors that were ignored (transactions restarted), and
    the statements per transaction sysbench sends for these options."""
    named = named or {}
    per_type: dict[str, Any] = {}
    queries = {"read": 0, "write": 0, "other": 0}
    for kind, s in (named.get("statements") or {}).items():
        errors = dict(s.get("errors") or {})
        per_type[kind] = {"count": s["ok"], "errors": sum(errors.values()), "errors_by_code": errors,
                          "per_second": round(s["ok"] / seconds, 1) if seconds > 0 else 0.0,
                          **_hist_ms(s["histogram"])}
        queries[CLASS[kind]] += s["ok"]
    ordered = {k: per_type[k] for k in KINDS if k in per_type}
    total = sum(queries.values())
    ignored = dict(named.get("ignored_errors") or {})
    return {
        "transactions": transactions, "failed_transactions": failed_transactions,
        "tps": round(transactions / seconds, 1) if seconds > 0 else 0.0,
        "queries": {**queries, "total": total, "per_second": round(total / seconds, 1) if seconds > 0 else 0.0},
        "statements": ordered, "ignored_errors": sum(ignored.values()), "ignored_errors_by_code": ignored,
        "per_transaction": statements_per_transaction(workload, opts),
        "options": opts.to_dict(),
    }


# --------------------------------------------------------------------------- prepare, cleanup, the check before a run


async def existing_tables(conn: Connection) -> set[str]:
    """The sbtest<N> tables in the connection's database (SHOW TABLES: no SELECT, so the server's Com_select
    counts only the workload's statements)."""
    rows = await conn.query("SHOW TABLES LIKE 'sbtest%'")
    return {str(r[0]) for r in rows if str(r[0])[6:].isdecimal()}


def prepare_hint(opts: OltpOptions) -> str:
    """The prepare command for these options, as a user would type it."""
    extra = "" if opts.auto_inc else " --auto-inc off"
    return f"test-rig bench prepare --tables {opts.tables} --table-size {opts.table_size}{extra}"


async def check_prepared(target: Target, workload: str, opts: OltpOptions, manager: Any) -> list[str]:
    """Before any load: every table the workload reads must exist (UsageError naming the prepare command
    otherwise). Returns warnings (a table with fewer ids than --table-size, which makes reads miss)."""
    conn = await connect_existing(target, manager)
    try:
        present = await existing_tables(conn)
        needed = [1] if workload.startswith("select-random") else list(range(1, opts.tables + 1))
        missing = [table_name(n) for n in needed if table_name(n) not in present]
        if missing:
            where = f"database {target.database} on {target.address}"
            raise UsageError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing in {where}; "
                             f"run `{prepare_hint(opts)}` first.")
        warnings = []
        if workload != "oltp-insert":
            for n in needed:
                top = await conn.scalar(f"SELECT MAX(id) FROM {table_name(n)}")
                if top is None or int(top) < opts.table_size:
                    warnings.append(f"{table_name(n)} holds ids up to {top or 0}, fewer than --table-size "
                                    f"{opts.table_size}: reads of the missing ids find nothing; prepare with the "
                                    "same --table-size.")
        return warnings
    finally:
        await conn.close()


async def prepare(target: Target, opts: OltpOptions, *, manager: Any, seed: int = 0, parallel: int = 1,
                  on_table: Callable[[str, str], None] | None = None,
                  left: list[str] | None = None) -> dict[str, Any]:
    """Create sbtest1..N and load them (sysbench's prepare), `parallel` tables at a time. Tables that already
    exist are refused before anything is created (UsageError: run cleanup first). A prepare that fails or is
    interrupted drops the tables it created, so nothing half-loaded is left; those it could not drop are added to
    `left` before the error propagates. Returns what was made."""
    conn = await connect_existing(target, manager)
    try:
        present = await existing_tables(conn)
    finally:
        await conn.close()
    clash = [table_name(n) for n in range(1, opts.tables + 1) if table_name(n) in present]
    if clash:
        raise UsageError(f"{', '.join(clash)} already exist{'s' if len(clash) == 1 else ''} in database "
                         f"{target.database} on {target.address}; run `test-rig bench cleanup --tables "
                         f"{opts.tables}` first, or prepare into another database with -d.")
    started = time.perf_counter()
    created: list[int] = []
    gate = asyncio.Semaphore(max(1, parallel))

    async def one(n: int) -> None:
        async with gate:
            c = await connect(target)
            try:
                if on_table is not None:
                    on_table(table_name(n), "creating")
                created.append(n)  # before the statement: an interrupt while it runs must still drop the table
                try:
                    await c.execute(create_table_sql(n, opts))
                except BaseException as e:
                    # refused (1050: someone else's table, made since the check; a missing privilege): nothing of
                    # ours to drop; an answer lost may have made it
                    if not answer_lost(e):
                        created.remove(n)
                    raise
                rnd = SysbenchRandom(random.Random(seed * 1_000_003 + n), opts)
                if on_table is not None and opts.table_size:
                    on_table(table_name(n), f"inserting {opts.table_size} rows")
                for sql in insert_batches(n, opts, rnd):
                    await c.execute(sql)
                if opts.create_secondary:
                    if on_table is not None:
                        on_table(table_name(n), "creating the secondary index on k")
                    await c.execute(create_index_sql(n))
            finally:
                await c.close()

    try:
        await asyncio.gather(*(one(n) for n in range(1, opts.tables + 1)))
    except BaseException:
        kept = await asyncio.shield(drop_tables(target, [table_name(n) for n in sorted(created)]))
        if left is not None:
            left.extend(kept)
        raise
    return {"tables": [table_name(n) for n in range(1, opts.tables + 1)], "table_size": opts.table_size,
            "rows": opts.tables * opts.table_size, "seconds": round(time.perf_counter() - started, 3),
            "options": opts.to_dict()}


async def cleanup(target: Target, tables: int, *, manager: Any) -> dict[str, Any]:
    """Drop sbtest1..N (sysbench's cleanup). Returns which were dropped and which were not there."""
    conn = await connect_existing(target, manager)
    try:
        present = await existing_tables(conn)
        dropped, absent = [], []
        for n in range(1, tables + 1):
            name = table_name(n)
            if name in present:
                await conn.execute(f"DROP TABLE IF EXISTS {name}")
                dropped.append(name)
            else:
                absent.append(name)
        left = sorted(present - set(dropped), key=lambda t: int(t[6:]))
    finally:
        await conn.close()
    return {"dropped": dropped, "absent": absent, "left": left}


def verdict_fields(summary: dict[str, Any], failed_by_code: dict[str, int], nemesis_failure: str | None,
                   with_nemesis: bool, complete: bool = True,
                   messages: dict[str, str] | None = None) -> dict[str, Any]:
    """`ok` and `error` of an OLTP run. It must have completed transactions; without a nemesis, a transaction
    that failed with an error --mysql-ignore-errors does not cover fails the run (sysbench would have stopped at
    it); with one, such errors are what the faults cause, and only the nemesis's own failure counts. Each code is
    said with the first of its `messages`."""
    if nemesis_failure is not None:
        return {"ok": False, "error": nemesis_failure}
    failed = sum(failed_by_code.values())
    if complete and summary["transactions"] == 0:
        if not failed:  # nothing finished, nothing failed: nothing was measured
            # neither passed nor failed: why is said under `unknown` (an `error` beside ok false is a failure)
            return {"ok": None, "undecided": 1, "unknown": ["no transaction finished during the run: nothing was "
                                                            "measured"]}
        return {"ok": False, "error": f"no transaction completed; {failed} failed "
                                      f"({by_code_text(failed_by_code, messages)})"}
    if failed and not with_nemesis:
        shown = by_code_text(failed_by_code, messages)
        return {"ok": False, "error": f"{failed} transaction{'s' if failed != 1 else ''} failed with errors that "
                                      f"--mysql-ignore-errors does not cover ({shown}); sysbench would have "
                                      "stopped at the first"}
    return {"ok": True}


async def run(env: Environment, workload: str, opts: OltpOptions, load: LoadSettings, *, nemesis: Any = None,
              events: LoadEvents | None = None) -> RunResult:
    """`test-rig bench oltp-*`: `workload` as a bench run (bench.measure: one process, worker processes or Ray,
    the nemesis `nemesis` (a NemesisSpec) prepared and closed around it) after checking its tables exist
    (UsageError, before any load, naming the prepare command; each warning told as a line, `events.line`). Returns
    bench's figures (an operation is a transaction), the OLTP summary and the verdict; interrupted (Ctrl-C,
    SIGTERM), what ran until then with `complete` false."""
    from test_rig.load.bench import LoadEvents, measure, resilience

    events = events or LoadEvents()
    check_options(workload, opts)
    manager = resilience(env)
    warnings = await check_prepared(env.target(), workload, opts, manager(None, env.config.database.timeout_secs))
    for w in warnings:
        events.line(f"warning: {w}")
    # select-random-*: sysbench partitions the table among its --threads; here among one process's connections
    spec = OltpSpec(workload, replace(opts, threads=max(1, -(-load.connections // load.processes))))
    data = await measure(env, spec, load, table_size=opts.table_size, nemesis=nemesis, events=events)
    return RunResult.from_dict(finish(data, workload, opts, warnings, with_nemesis=nemesis is not None))


async def run_prepare(env: Environment, opts: OltpOptions, *, seed: int = 0, parallel: int = 1) -> RunResult:
    """`test-rig bench prepare`: `prepare` on the environment's target, as a RunResult; its opening line and each
    table's progress said on the run's console."""
    env.say(prepare_opening(opts, env.target()))
    made = await prepare(env.target(), opts, manager=env.manager(), seed=seed, parallel=parallel,
                         on_table=lambda table, what: env.say(f"  {table}: {what}"), left=env.left_on_server)
    return RunResult("bench prepare", ok=True, payload=made)


async def run_cleanup(env: Environment, tables: int) -> RunResult:
    """`test-rig bench cleanup`: `cleanup` of sbtest1..`tables` on the environment's target, as a RunResult."""
    return RunResult("bench cleanup", ok=True, payload=await cleanup(env.target(), tables, manager=env.manager()))


def check_prepare_options(opts: OltpOptions) -> None:
    """check_options for a prepare, which may make empty tables (UsageError for a negative size)."""
    check_options(None, opts)
    if opts.table_size < 0:
        raise UsageError(f"--table-size {opts.table_size} is negative; give 0 (empty tables) or more.")


def finish(data: dict[str, Any], workload: str, opts: OltpOptions, warnings: list[str], *,
           with_nemesis: bool) -> dict[str, Any]:
    """A bench result dict made an OLTP one: the summary in place of the raw per-statement figures, and the
    verdict's fields (bench's own failure, e.g. the nemesis's, stands; else verdict_fields decides)."""
    data = dict(data)
    data["warnings"] = warnings
    if "operations" not in data:  # stopped before the load gave any figures
        return data
    summary = summarize(workload, opts, data.pop("named", None), data["operations"], data["errors"],
                        float(data["seconds"]))
    data.update(summary)
    if data.get("complete") is False or (data.get("ok") is False and not data.get("undecided")):
        return data
    for key in ("undecided", "error", "unknown"):
        data.pop(key, None)
    data.update(verdict_fields(summary, data.get("errors_by_code") or {}, None, with_nemesis,
                               messages=data.get("error_messages")))
    return data


def console_lines(data: dict[str, Any]) -> list[str]:
    """An OLTP run's summary as a person reads it (the JSON holds the same figures); none for a run that stopped
    before its load."""
    from test_rig.load.bench import latency_table, timeline_lines

    if "statements" not in data:
        return []

    def codes(by_code: dict[str, int]) -> str:
        return " (" + ", ".join(f"{code}: {n}" for code, n in sorted(by_code.items())) + ")" if by_code else ""

    q = data["queries"]
    return [f"transactions {data['transactions']} ({data['tps']} per s)  queries {q['total']} ({q['per_second']} "
            f"per s): read {q['read']}, write {q['write']}, other {q['other']}",
            f"failed transactions {data['failed_transactions']}{codes(data['errors_by_code'])}  ignored errors "
            f"{data['ignored_errors']}{codes(data['ignored_errors_by_code'])}  reconnects {data['reconnects']}",
            f"latency per transaction: p50 {data['p50_ms']:.3f} ms  p95 {data['p95_ms']:.3f} ms  "
            f"p99 {data['p99_ms']:.3f} ms  max {data['max_ms']:.3f} ms",
            *latency_table("statement", 18, data["statements"].items()),
            "per transaction, as sysbench sends for these options: "
            + ", ".join(f"{k} {n}" for k, n in data["per_transaction"].items()),
            *timeline_lines(data, "tps")]


def prepare_lines(data: dict[str, Any]) -> list[str]:
    """A prepare's closing line: the tables made, their rows, the seconds it took."""
    return [f"prepared {', '.join(data['tables'])}: {data['rows']} rows in {data['seconds']:.1f} s"]


def opening(workload: str, opts: OltpOptions, load: LoadSettings, address: str) -> str:
    """A run's first console line: the load, the tables it reads and where."""
    from test_rig.load.bench import opening as bench_opening

    tables = "sbtest1" if workload.startswith("select-random") else f"{opts.tables} table(s)"
    return bench_opening(workload, load, "connections", address, f"{tables} of {opts.table_size} rows")


def prepare_opening(opts: OltpOptions, target: Target) -> str:
    """A prepare's first console line: the tables it makes and where."""
    return (f"test-rig bench prepare: {opts.tables} table(s) of {opts.table_size} rows in {target.database} on "
            f"{target.address}")
