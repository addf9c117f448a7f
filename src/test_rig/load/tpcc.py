"""A TPC-C-style order-entry workload on the free-running load path: the nine tables, the five transactions
(New-Order, Payment, Order-Status, Delivery, Stock-Level) in a weighted mix, and the consistency conditions of
clause 3.3.2 checked after the load (load/tpcc_check.py), so a run ends with a verdict on the data.

Written from the TPC-C specification (5.11) and from reading go-tpc's `tpcc` package; our own code. Like
load/oltp.py: the options, sizes, rows and random values are pure and tested on data; `TpccSpec` is the
workload as picklable data for worker processes and Ray; `TpccWorkload` runs one transaction per call and
records, per transaction type, its count, latency, rolled-back New-Orders and errors by code; `prepare`,
`cleanup`, `check_prepared`, `check` and `run` are what the command line calls.

Not a TPC-C benchmark, and not to be reported as one: no keying or think times (every terminal runs closed
loop), a transaction's home warehouse is drawn per transaction (not bound to its terminal: worker indexes repeat
across --processes), Delivery runs in line rather than deferred, the NURand constants are fixed, and
`--scale-down F` divides the items (100,000) and customers per district (3,000) by F, which no audited run may do.
tpmC here counts committed New-Orders per minute; the 1 % that the specification rolls back on purpose (an
unused item id) are reported beside it.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from test_rig.db import Connection, Target, answer_lost, connect_existing, drop_tables
from test_rig.errors import DatabaseError, RigError, UsageError, by_code_text, code_key, is_lost_connection
from test_rig.load import tpcc_check
from test_rig.load.fast_conn import FastConnection
from test_rig.options import option
from test_rig.results import RunResult

if TYPE_CHECKING:
    from test_rig.environment import Environment
    from test_rig.load.bench import LoadEvents, LoadSettings
    from test_rig.report.files import Suite

# --------------------------------------------------------------------------- names and sizes

TRANSACTIONS = ("new_order", "payment", "order_status", "delivery", "stock_level")
#: The specification's minimum mix (clause 5.2.3), as weights in TRANSACTIONS' order.
DEFAULT_MIX = (45, 43, 4, 4, 4)
TABLES = ("warehouse", "district", "customer", "history", "new_order", "orders", "order_line", "item", "stock")
DISTRICTS = 10
SPEC_ITEMS = 100_000
SPEC_CUSTOMERS = 3_000  # per district; also the orders loaded per district
#: Errors that roll a transaction back and run it again: deadlock, lock wait timeout, TiDB's write conflict,
#: SELECT FOR UPDATE conflict, commit failed and rolled back, schema changed during the transaction.
RETRIED = frozenset({1213, 1205, 9007, 8002, 8022, 8028})
MAX_RETRIES = 20
_SYLLABLES = ("BAR", "OUGHT", "ABLE", "PRI", "PRES", "ESE", "ANTI", "CALLY", "ATION", "EING")
# NURand's run-time constants (clause 2.1.6); fixed here, as the specification lets a test choose them
_C_LAST, _C_ID, _OL_I_ID = 157, 259, 7911


def parse_mix(text: str) -> tuple[int, int, int, int, int]:
    """`--mix`: five weights in TRANSACTIONS' order (`45,43,4,4,4` or `45/43/4/4/4`), or named ones
    (`new-order=50,payment=50`; the others 0). Raises UsageError for anything else."""
    names = [t.replace("_", "-") for t in TRANSACTIONS]
    hint = (f"give five weights for {'/'.join(names)} (the default is {','.join(map(str, DEFAULT_MIX))}) or "
            "name=weight pairs such as new-order=50,payment=50")
    parts = [p.strip() for p in text.replace("/", ",").split(",") if p.strip()]
    weights: list[int]
    if parts and all("=" in p for p in parts):
        named: dict[str, int] = {}
        for p in parts:
            name, _, value = p.partition("=")
            name = name.strip().lower().replace("_", "-")
            if name not in names:
                raise UsageError(f"--mix {text}: unknown transaction '{name}'; {hint}.")
            if not value.strip().isdecimal():
                raise UsageError(f"--mix {text}: '{value.strip()}' is not a whole number; {hint}.")
            named[name] = int(value)
        weights = [named.get(n, 0) for n in names]
    elif len(parts) == len(TRANSACTIONS) and all(p.isdecimal() for p in parts):
        weights = [int(p) for p in parts]
    else:
        raise UsageError(f"--mix {text} is not a transaction mix; {hint}.")
    if sum(weights) == 0:
        raise UsageError(f"--mix {text}: every weight is 0, so no transaction would run; {hint}.")
    return (weights[0], weights[1], weights[2], weights[3], weights[4])


@dataclass(frozen=True)
class TpccOptions:
    """What a TPC-C-style run needs: warehouses, the scale-down factor, the mix (weights in TRANSACTIONS'
    order); the first two with their help texts, as the tpcc commands' options (test_rig.options)."""

    warehouses: int = option(1, "Warehouses (TPC-C's scale: 10 districts, 3,000 customers each, per warehouse).")
    scale_down: int = option(1, "NOT SPEC-SIZED above 1: divide the items (100,000) and the customers and orders per "
                             "district (3,000) by F, for quick tests; give the same F to every tpcc command.",
                             metavar="F")
    mix: tuple[int, int, int, int, int] = option(
        DEFAULT_MIX, "Weights of new-order, payment, order-status, delivery, stock-level (TPC-C's minimum mix by "
        "default), or name=weight pairs with the others 0.", metavar="W,W,W,W,W|name=W,...", parse=parse_mix,
        as_typed=",".join(map(str, DEFAULT_MIX)))

    @property
    def items(self) -> int:
        return SPEC_ITEMS // self.scale_down

    @property
    def customers(self) -> int:
        """Customers per district, and orders loaded per district."""
        return SPEC_CUSTOMERS // self.scale_down

    @property
    def new_orders(self) -> int:
        """New orders loaded per district: the last 30 % (900 of 3,000 at spec size)."""
        return self.customers * 3 // 10

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mix"] = dict(zip(TRANSACTIONS, self.mix, strict=True))
        out.update(items=self.items, customers_per_district=self.customers, districts_per_warehouse=DISTRICTS,
                   spec_sized=self.scale_down == 1)
        return out


#: The largest --scale-down: 10 customers per district (an order has up to 15 distinct items: 333 remain).
MAX_SCALE_DOWN = 300


def check_options(opts: TpccOptions) -> None:
    """Refuse options that cannot run, with one sentence each (UsageError)."""
    if opts.warehouses < 1:
        raise UsageError(f"--warehouses {opts.warehouses}: TPC-C needs at least one warehouse; give "
                         "--warehouses 1 or more.")
    if not 1 <= opts.scale_down <= MAX_SCALE_DOWN:
        raise UsageError(f"--scale-down {opts.scale_down} is out of range; give 1 (spec-sized) to {MAX_SCALE_DOWN} "
                         "(items and customers divided by it).")
    if len(opts.mix) != len(TRANSACTIONS) or sum(opts.mix) == 0 or min(opts.mix) < 0:
        raise UsageError("--mix needs five weights of 0 or more, not all 0.")


# --------------------------------------------------------------------------- random values (clause 4.3.2)


def nurand(rng: random.Random, a: int, x: int, y: int, c: int) -> int:
    """The specification's non-uniform random NURand(A, x, y)."""
    return (((rng.randint(0, a) | rng.randint(x, y)) + c) % (y - x + 1)) + x


def last_name(number: int) -> str:
    """C_LAST for a number 0..999: three syllables by its digits."""
    return _SYLLABLES[number // 100] + _SYLLABLES[number // 10 % 10] + _SYLLABLES[number % 10]


def a_string(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(low, high)))


def n_string(rng: random.Random, length: int) -> str:
    return "".join(rng.choices(string.digits, k=length))


def data_string(rng: random.Random) -> str:
    """I_DATA / S_DATA: 26..50 characters, 10 % of them with ORIGINAL somewhere inside."""
    text = a_string(rng, 26, 50)
    if rng.random() < 0.1:
        at = rng.randint(0, len(text) - 8)
        text = text[:at] + "ORIGINAL" + text[at + 8:]
    return text


def customer_last_name(rng: random.Random, opts: TpccOptions, c_id: int) -> str:
    """The load's C_LAST: by id for the first 1,000 customers of a district, NURand for the others."""
    if c_id <= 1000:
        return last_name(c_id - 1)
    return last_name(nurand(rng, 255, 0, 999, _C_LAST))


def lookup_last_name(rng: random.Random, opts: TpccOptions) -> str:
    """A last name to look a customer up by: NURand over the names the load gave (0..999, fewer when scaled
    down)."""
    return last_name(nurand(rng, 255, 0, min(999, opts.customers - 1), _C_LAST))


# --------------------------------------------------------------------------- the schema and its rows


def create_table_sql() -> list[str]:
    """The nine tables (clause 1.3), with go-tpc's secondary indexes (customer by last name, orders by
    customer); MySQL syntax that TiDB reads too."""
    dist = ", ".join(f"s_dist_{i:02d} CHAR(24)" for i in range(1, 11))
    addr = ("{p}_street_1 VARCHAR(20), {p}_street_2 VARCHAR(20), {p}_city VARCHAR(20), {p}_state CHAR(2), "
            "{p}_zip CHAR(9)")
    return [
        f"CREATE TABLE warehouse (w_id INT NOT NULL, w_name VARCHAR(10), {addr.format(p='w')}, w_tax DECIMAL(4,4), "
        "w_ytd DECIMAL(12,2), PRIMARY KEY (w_id))",
        f"CREATE TABLE district (d_id INT NOT NULL, d_w_id INT NOT NULL, d_name VARCHAR(10), {addr.format(p='d')}, "
        "d_tax DECIMAL(4,4), d_ytd DECIMAL(12,2), d_next_o_id INT, PRIMARY KEY (d_w_id, d_id))",
        f"CREATE TABLE customer (c_id INT NOT NULL, c_d_id INT NOT NULL, c_w_id INT NOT NULL, c_first VARCHAR(16), "
        f"c_middle CHAR(2), c_last VARCHAR(16), {addr.format(p='c')}, c_phone CHAR(16), c_since DATETIME, "
        "c_credit CHAR(2), c_credit_lim DECIMAL(12,2), c_discount DECIMAL(4,4), c_balance DECIMAL(12,2), "
        "c_ytd_payment DECIMAL(12,2), c_payment_cnt INT, c_delivery_cnt INT, c_data VARCHAR(500), "
        "PRIMARY KEY (c_w_id, c_d_id, c_id), INDEX idx_customer (c_w_id, c_d_id, c_last, c_first))",
        "CREATE TABLE history (h_c_id INT NOT NULL, h_c_d_id INT NOT NULL, h_c_w_id INT NOT NULL, h_d_id INT NOT NULL, "
        "h_w_id INT NOT NULL, h_date DATETIME, h_amount DECIMAL(6,2), h_data VARCHAR(24), "
        "INDEX idx_h_w_id (h_w_id, h_d_id), INDEX idx_h_c_w_id (h_c_w_id, h_c_d_id, h_c_id))",
        "CREATE TABLE new_order (no_o_id INT NOT NULL, no_d_id INT NOT NULL, no_w_id INT NOT NULL, "
        "PRIMARY KEY (no_w_id, no_d_id, no_o_id))",
        "CREATE TABLE orders (o_id INT NOT NULL, o_d_id INT NOT NULL, o_w_id INT NOT NULL, o_c_id INT NOT NULL, "
        "o_entry_d DATETIME, o_carrier_id INT, o_ol_cnt INT, o_all_local INT, PRIMARY KEY (o_w_id, o_d_id, o_id), "
        "INDEX idx_order (o_w_id, o_d_id, o_c_id, o_id))",
        "CREATE TABLE order_line (ol_o_id INT NOT NULL, ol_d_id INT NOT NULL, ol_w_id INT NOT NULL, "
        "ol_number INT NOT NULL, ol_i_id INT NOT NULL, ol_supply_w_id INT, ol_delivery_d DATETIME, "
        "ol_quantity INT, ol_amount DECIMAL(6,2), ol_dist_info CHAR(24), "
        "PRIMARY KEY (ol_w_id, ol_d_id, ol_o_id, ol_number))",
        "CREATE TABLE item (i_id INT NOT NULL, i_im_id INT, i_name VARCHAR(24), i_price DECIMAL(5,2), "
        "i_data VARCHAR(50), PRIMARY KEY (i_id))",
        f"CREATE TABLE stock (s_i_id INT NOT NULL, s_w_id INT NOT NULL, s_quantity INT, {dist}, s_ytd INT, "
        "s_order_cnt INT, s_remote_cnt INT, s_data VARCHAR(50), PRIMARY KEY (s_w_id, s_i_id))",
    ]


def _q(value: Any) -> str:
    """A value written into SQL: numbers as they are, NULL, strings quoted (the load's strings are letters and
    digits only, so there is nothing to escape)."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


def _address(rng: random.Random) -> list[str]:
    return [a_string(rng, 10, 20), a_string(rng, 10, 20), a_string(rng, 10, 20),
            "".join(rng.choices(string.ascii_uppercase, k=2)), n_string(rng, 4) + "11111"]


def load_rows(opts: TpccOptions, seed: int = 0) -> Iterator[tuple[str, list[list[Any]]]]:
    """The initial database (clause 4.3.3), table by table in batches: (table, rows). The order entry state is
    the one the consistency conditions hold for: W_YTD = sum of the districts' D_YTD = sum of H_AMOUNT, each
    customer's balance -10.00 against one payment of 10.00, the first 70 % of each district's orders delivered
    (lines with amount 0), the last 30 % in NEW-ORDER."""
    rng = random.Random(seed)
    batch = 500
    items = [[i, rng.randint(1, 10_000), a_string(rng, 14, 24), f"{rng.randint(100, 10_000) / 100:.2f}",
              data_string(rng)] for i in range(1, opts.items + 1)]
    for first in range(0, len(items), batch):
        yield "item", items[first:first + batch]
    c, delivered = opts.customers, opts.customers - opts.new_orders
    for w in range(1, opts.warehouses + 1):
        yield "warehouse", [[w, a_string(rng, 6, 10), *_address(rng), f"{rng.randint(0, 2000) / 10_000:.4f}",
                             f"{DISTRICTS * c * 10:.2f}"]]
        stock: list[list[Any]] = []
        for i in range(1, opts.items + 1):
            stock.append([i, w, rng.randint(10, 100), *(a_string(rng, 24, 24) for _ in range(10)), 0, 0, 0,
                          data_string(rng)])
            if len(stock) == batch:
                yield "stock", stock
                stock = []
        if stock:
            yield "stock", stock
        yield "district", [[d, w, a_string(rng, 6, 10), *_address(rng), f"{rng.randint(0, 2000) / 10_000:.4f}",
                            f"{c * 10:.2f}", c + 1] for d in range(1, DISTRICTS + 1)]
        for d in range(1, DISTRICTS + 1):
            customers, history = [], []
            for cid in range(1, c + 1):
                credit = "BC" if rng.random() < 0.1 else "GC"
                customers.append([cid, d, w, a_string(rng, 8, 16), "OE", customer_last_name(rng, opts, cid),
                                  *_address(rng), n_string(rng, 16), "2026-01-01 00:00:00", credit, "50000.00",
                                  f"{rng.randint(0, 5000) / 10_000:.4f}", "-10.00", "10.00", 1, 0,
                                  a_string(rng, 300, 500)])
                history.append([cid, d, w, d, w, "2026-01-01 00:00:00", "10.00", a_string(rng, 12, 24)])
            for first in range(0, c, batch):
                yield "customer", customers[first:first + batch]
                yield "history", history[first:first + batch]
            owners = list(range(1, c + 1))
            rng.shuffle(owners)
            orders, lines = [], []
            for oid in range(1, c + 1):
                count = rng.randint(5, 15)
                done = oid <= delivered
                orders.append([oid, d, w, owners[oid - 1], "2026-01-01 00:00:00", rng.randint(1, 10) if done else None,
                               count, 1])
                for n in range(1, count + 1):
                    lines.append([oid, d, w, n, rng.randint(1, opts.items), w, "2026-01-01 00:00:00" if done else None,
                                  5, "0.00" if done else f"{rng.randint(1, 999_999) / 100:.2f}",
                                  a_string(rng, 24, 24)])
            for first in range(0, len(orders), batch):
                yield "orders", orders[first:first + batch]
            for first in range(0, len(lines), batch):
                yield "order_line", lines[first:first + batch]
            yield "new_order", [[oid, d, w] for oid in range(delivered + 1, c + 1)]


def insert_sql(table: str, rows: list[list[Any]]) -> str:
    return f"INSERT INTO {table} VALUES " + ",".join("(" + ",".join(_q(v) for v in r) + ")" for r in rows)


# --------------------------------------------------------------------------- the five transactions (clause 2)


class _Rollback(Exception):
    """New-Order's deliberate rollback: an unused item id (clause 2.4.2.3)."""


class MissingRow(DatabaseError):
    """A row the transaction reads by key was not there: the transaction fails (counted under this name, and
    without a nemesis the run fails), rather than taking the run down."""


async def _one(conn: Connection, sql: str) -> Any:
    """The first row of `sql`, which must have one (MissingRow otherwise)."""
    rows = await conn.fetch(sql)
    if not rows:
        raise MissingRow(f"no row for: {sql}")
    return rows[0]


async def _customer_by_name(conn: Connection, w: int, d: int, name: str) -> int | None:
    """The customer at position ceil(n/2) of those named `name`, sorted by C_FIRST (clause 2.5.2.2)."""
    rows = await conn.fetch(f"SELECT c_id FROM customer WHERE c_w_id={w} AND c_d_id={d} AND c_last='{name}' "
                            "ORDER BY c_first")
    return int(rows[(len(rows) - 1) // 2][0]) if rows else None


async def new_order(conn: Connection, rng: random.Random, opts: TpccOptions, w: int) -> None:
    d = rng.randint(1, DISTRICTS)
    c = nurand(rng, 1023, 1, opts.customers, _C_ID)
    count = rng.randint(5, 15)
    chosen: set[int] = set()
    while len(chosen) < count:  # distinct items, so one order line per item
        chosen.add(nurand(rng, 8191, 1, opts.items, _OL_I_ID))
    items = sorted(chosen)  # locked in id order: two orders never wait on each other's stock rows in a cycle
    supply = [w if opts.warehouses == 1 or rng.random() >= 0.01 else rng.choice(
        [x for x in range(1, opts.warehouses + 1) if x != w]) for _ in items]
    quantities = [rng.randint(1, 10) for _ in items]
    unused = rng.random() < 0.01  # the 1 % the specification rolls back: the last item id does not exist
    if unused:
        items[-1] = opts.items + 1
    await conn.execute("BEGIN")
    await conn.fetch(f"SELECT w_tax FROM warehouse WHERE w_id={w}")
    row = (await _one(conn, f"SELECT d_tax, d_next_o_id FROM district WHERE d_w_id={w} AND d_id={d} FOR UPDATE"))
    o_id = int(row[1])
    await conn.execute(f"UPDATE district SET d_next_o_id={o_id + 1} WHERE d_w_id={w} AND d_id={d}", is_write=True)
    await conn.fetch(f"SELECT c_discount, c_last, c_credit FROM customer WHERE c_w_id={w} AND c_d_id={d} AND c_id={c}")
    all_local = int(all(s == w for s in supply))
    await conn.execute(f"INSERT INTO orders VALUES ({o_id}, {d}, {w}, {c}, NOW(), NULL, {count}, {all_local})",
                       is_write=True)
    await conn.execute(f"INSERT INTO new_order VALUES ({o_id}, {d}, {w})", is_write=True)
    found = {int(r[0]): r for r in await conn.fetch(
        f"SELECT i_id, i_price FROM item WHERE i_id IN ({','.join(map(str, items))})")}
    if len(found) < len(items):
        raise _Rollback
    lines = []
    for n, (item, s_w, qty) in enumerate(zip(items, supply, quantities, strict=True), 1):
        stock = (await _one(conn, f"SELECT s_quantity, s_dist_{d:02d} FROM stock WHERE s_w_id={s_w} AND "
                                  f"s_i_id={item} FOR UPDATE"))
        left = int(stock[0]) - qty
        left = left if left >= 10 else left + 91
        await conn.execute(f"UPDATE stock SET s_quantity={left}, s_ytd=s_ytd+{qty}, s_order_cnt=s_order_cnt+1, "
                           f"s_remote_cnt=s_remote_cnt+{int(s_w != w)} WHERE s_w_id={s_w} AND s_i_id={item}",
                           is_write=True)
        lines.append(f"({o_id}, {d}, {w}, {n}, {item}, {s_w}, NULL, {qty}, {found[item][1] * qty}, '{stock[1]}')")
    await conn.execute("INSERT INTO order_line VALUES " + ",".join(lines), is_write=True)
    await conn.execute("COMMIT")


async def payment(conn: Connection, rng: random.Random, opts: TpccOptions, w: int) -> None:
    d = rng.randint(1, DISTRICTS)
    if opts.warehouses == 1 or rng.random() < 0.85:  # 85 % pay at their home warehouse
        c_w, c_d = w, d
    else:
        c_w, c_d = rng.choice([x for x in range(1, opts.warehouses + 1) if x != w]), rng.randint(1, DISTRICTS)
    by_name = rng.random() < 0.6
    name = lookup_last_name(rng, opts) if by_name else ""
    c_id = nurand(rng, 1023, 1, opts.customers, _C_ID)
    amount = f"{rng.randint(100, 500_000) / 100:.2f}"
    await conn.execute("BEGIN")
    await conn.execute(f"UPDATE warehouse SET w_ytd=w_ytd+{amount} WHERE w_id={w}", is_write=True)
    await conn.fetch(f"SELECT w_name, w_street_1, w_city FROM warehouse WHERE w_id={w}")
    await conn.execute(f"UPDATE district SET d_ytd=d_ytd+{amount} WHERE d_w_id={w} AND d_id={d}", is_write=True)
    await conn.fetch(f"SELECT d_name, d_street_1, d_city FROM district WHERE d_w_id={w} AND d_id={d}")
    if by_name:
        found = await _customer_by_name(conn, c_w, c_d, name)
        c_id = found if found is not None else c_id
    row = (await _one(conn, f"SELECT c_credit, c_balance FROM customer WHERE c_w_id={c_w} AND c_d_id={c_d} AND "
                            f"c_id={c_id} FOR UPDATE"))
    bad_credit = row[0] == "BC"
    extra = (f", c_data=LEFT(CONCAT('{c_id} {c_d} {c_w} {d} {w} {amount} ', c_data), 500)" if bad_credit else "")
    await conn.execute(f"UPDATE customer SET c_balance=c_balance-{amount}, c_ytd_payment=c_ytd_payment+{amount}, "
                       f"c_payment_cnt=c_payment_cnt+1{extra} WHERE c_w_id={c_w} AND c_d_id={c_d} AND c_id={c_id}",
                       is_write=True)
    await conn.execute(f"INSERT INTO history VALUES ({c_id}, {c_d}, {c_w}, {d}, {w}, NOW(), {amount}, 'payment')",
                       is_write=True)
    await conn.execute("COMMIT")


async def order_status(conn: Connection, rng: random.Random, opts: TpccOptions, w: int) -> None:
    d = rng.randint(1, DISTRICTS)
    c_id: int | None = nurand(rng, 1023, 1, opts.customers, _C_ID)
    await conn.execute("BEGIN")
    if rng.random() < 0.6:
        c_id = await _customer_by_name(conn, w, d, lookup_last_name(rng, opts)) or c_id
    await conn.fetch(f"SELECT c_balance, c_first, c_last FROM customer WHERE c_w_id={w} AND c_d_id={d} AND c_id={c_id}")
    rows = await conn.fetch(f"SELECT o_id, o_carrier_id, o_entry_d FROM orders WHERE o_w_id={w} AND o_d_id={d} AND "
                            f"o_c_id={c_id} ORDER BY o_id DESC LIMIT 1")
    if rows:
        await conn.fetch(f"SELECT ol_i_id, ol_supply_w_id, ol_quantity, ol_amount, ol_delivery_d FROM order_line "
                         f"WHERE ol_w_id={w} AND ol_d_id={d} AND ol_o_id={int(rows[0][0])}")
    await conn.execute("COMMIT")


async def delivery(conn: Connection, rng: random.Random, opts: TpccOptions, w: int) -> None:
    carrier = rng.randint(1, 10)
    await conn.execute("BEGIN")
    for d in range(1, DISTRICTS + 1):
        rows = await conn.fetch(f"SELECT no_o_id FROM new_order WHERE no_w_id={w} AND no_d_id={d} ORDER BY no_o_id "
                                "LIMIT 1 FOR UPDATE")
        if not rows:  # no outstanding order in this district: skipped, as the specification says
            continue
        o_id = int(rows[0][0])
        key = f"o_w_id={w} AND o_d_id={d} AND o_id={o_id}"
        lines = f"ol_w_id={w} AND ol_d_id={d} AND ol_o_id={o_id}"
        await conn.execute(f"DELETE FROM new_order WHERE no_w_id={w} AND no_d_id={d} AND no_o_id={o_id}", is_write=True)
        # a locking read, like the one of NEW-ORDER above: a plain read would see the snapshot taken at this
        # transaction's first plain read, in which an order committed since (the one just locked) is missing
        c_id = int((await _one(conn, f"SELECT o_c_id FROM orders WHERE {key} FOR UPDATE"))[0])
        await conn.execute(f"UPDATE orders SET o_carrier_id={carrier} WHERE {key}", is_write=True)
        await conn.execute(f"UPDATE order_line SET ol_delivery_d=NOW() WHERE {lines}", is_write=True)
        total = (await _one(conn, f"SELECT COALESCE(SUM(ol_amount), 0) FROM order_line WHERE {lines}"))[0]
        await conn.execute(f"UPDATE customer SET c_balance=c_balance+{total}, c_delivery_cnt=c_delivery_cnt+1 "
                           f"WHERE c_w_id={w} AND c_d_id={d} AND c_id={c_id}", is_write=True)
    await conn.execute("COMMIT")


async def stock_level(conn: Connection, rng: random.Random, opts: TpccOptions, w: int) -> None:
    d = rng.randint(1, DISTRICTS)
    threshold = rng.randint(10, 20)
    await conn.execute("BEGIN")
    next_o_id = int((await _one(conn, f"SELECT d_next_o_id FROM district WHERE d_w_id={w} AND d_id={d}"))[0])
    await conn.fetch(f"SELECT COUNT(DISTINCT s_i_id) FROM order_line JOIN stock ON s_w_id={w} AND s_i_id=ol_i_id "
                     f"WHERE ol_w_id={w} AND ol_d_id={d} AND ol_o_id < {next_o_id} AND ol_o_id >= {next_o_id - 20} "
                     f"AND s_quantity < {threshold}")
    await conn.execute("COMMIT")


_RUN = (new_order, payment, order_status, delivery, stock_level)


# --------------------------------------------------------------------------- the operation a worker repeats


@dataclass(frozen=True)
class TpccSpec:
    """The TPC-C-style workload as picklable data: what bench.run_bench, worker processes and Ray actors build
    the operation from."""

    options: TpccOptions
    name: str = "tpcc"

    def operation(self) -> TpccWorkload:
        return TpccWorkload(self.options)


class TpccWorkload:
    """One transaction per call, its type drawn from the mix, its home warehouse uniformly. A retried error
    (RETRIED: deadlock, lock wait timeout, write conflicts) rolls it back and runs it again with new values
    (at most MAX_RETRIES times in a row; its latency includes the retries); New-Order's deliberate rollback
    counts as a completed transaction, `rolled_back`; any other error rolls it back and fails it (the loop
    counts it by code, and reconnects after a lost connection). One object serves every worker of a process."""

    def __init__(self, opts: TpccOptions) -> None:
        from hdrh.histogram import HdrHistogram

        self.opts = opts
        n = len(TRANSACTIONS)
        self.ok = [0] * n
        self.rolled_back = [0] * n
        self.failed: list[Counter[str]] = [Counter() for _ in range(n)]
        self.retried: list[Counter[str]] = [Counter() for _ in range(n)]
        self.histograms = [HdrHistogram(1, 3_600_000_000, 3) for _ in range(n)]
        self.cum = [sum(opts.mix[:i + 1]) for i in range(n)]
        self.total = sum(opts.mix)

    def draw(self, rng: random.Random) -> int:
        """The type of the next transaction, by the mix's weights."""
        x = rng.random() * self.total
        for i, bound in enumerate(self.cum):
            if x < bound:
                return i
        return len(self.cum) - 1

    async def __call__(self, conn: Connection, worker: Any) -> None:
        # The transactions' statements go through a FastConnection (load.fast_conn), made once per connection:
        # the fast load path's protocol instead of asyncmy's cursor, the same answers.
        held = worker.data.get("fast")
        if held is None or held[0] is not conn:
            held = worker.data["fast"] = (conn, FastConnection(conn))
        fast: Any = held[1]
        rng = worker.rng
        kind = self.draw(rng)
        w = rng.randint(1, self.opts.warehouses)
        started = time.perf_counter()
        retries = 0
        while True:
            try:
                await _RUN[kind](fast, rng, self.opts, w)
                self.ok[kind] += 1
                break
            except _Rollback:
                try:
                    await fast.execute("ROLLBACK")
                except DatabaseError as e:  # counted here as the loop counts it: a failed transaction
                    self.failed[kind][code_key(e)] += 1
                    raise
                self.rolled_back[kind] += 1
                break
            except DatabaseError as e:
                code = code_key(e)
                lost = is_lost_connection(e) or conn.closed
                if conn.in_transaction and not lost:
                    try:
                        await fast.execute("ROLLBACK")
                    except DatabaseError:
                        lost = True  # what is reported is the transaction's own error
                if lost or e.code not in RETRIED or retries >= MAX_RETRIES:
                    self.failed[kind][code] += 1
                    raise
                self.retried[kind][code] += 1
                retries += 1
        self.histograms[kind].record_value(int((time.perf_counter() - started) * 1_000_000) or 1)

    async def worker_done(self, conn: Connection, worker: Any) -> None:
        """The run's end: the connection is asyncmy's again (for closing it)."""
        held = worker.data.get("fast")
        if held is not None and held[0] is conn:
            held[1].release()

    def named_stats(self) -> dict[str, Any]:
        """Per transaction type, as plain data that several processes' results merge by adding
        (coordinator.merge_named): committed, rolled back on purpose, errors and retries by code, the HDR
        latency histogram of the completed ones."""
        out = {}
        for i, name in enumerate(TRANSACTIONS):
            out[name] = {"ok": self.ok[i], "rolled_back": self.rolled_back[i], "errors": dict(self.failed[i]),
                         "retried": dict(self.retried[i]),
                         "histogram": self.histograms[i].encode().decode("ascii")}
        return {"transactions": out}


# --------------------------------------------------------------------------- the report


def summarize(named: dict[str, Any] | None, seconds: float) -> dict[str, Any]:
    """tpmC (committed New-Orders per minute), and per transaction type: count, per second, rolled back,
    errors and retries by code, latency percentiles of the completed ones."""
    from test_rig.load.oltp import _hist_ms

    per_type: dict[str, Any] = {}
    for name in TRANSACTIONS:
        s = ((named or {}).get("transactions") or {}).get(name)
        if s is None:
            continue
        done = s["ok"] + s["rolled_back"]
        errors, retried = dict(s.get("errors") or {}), dict(s.get("retried") or {})
        per_type[name] = {"count": s["ok"], "rolled_back": s["rolled_back"],
                          "per_second": round(done / seconds, 1) if seconds > 0 else 0.0,
                          "errors": sum(errors.values()), "errors_by_code": errors,
                          "retried": sum(retried.values()), "retried_by_code": retried, **_hist_ms(s["histogram"])}
    committed = per_type.get("new_order", {}).get("count", 0)
    return {"tpmC": round(committed * 60 / seconds, 1) if seconds > 0 else 0.0, "new_orders": committed,
            "transactions_by_type": per_type}


# --------------------------------------------------------------------------- prepare, cleanup, the checks



async def existing_tables(conn: Connection) -> set[str]:
    rows = await conn.query("SHOW TABLES")
    return {str(r[0]).lower() for r in rows} & set(TABLES)


def prepare_hint(opts: TpccOptions) -> str:
    return f"test-rig bench tpcc-prepare --warehouses {opts.warehouses}" + (
        f" --scale-down {opts.scale_down}" if opts.scale_down != 1 else "")


async def prepare(target: Target, opts: TpccOptions, *, manager: Any, seed: int = 0,
                  on_table: Callable[[str, int], None] | None = None,
                  left: list[str] | None = None) -> dict[str, Any]:
    """Create the nine tables and load the initial database. Refused (UsageError) when one of them exists
    already; a prepare that fails or is interrupted drops the tables it created (those it could not drop are
    added to `left` before the error propagates). Returns the rows per table."""
    check_options(opts)
    conn = await connect_existing(target, manager)
    started = time.perf_counter()
    created: list[str] = []
    counts: Counter[str] = Counter()
    try:
        present = await existing_tables(conn)
        clash = [t for t in TABLES if t in present]
        if clash:
            raise UsageError(f"{', '.join(clash)} already exist{'s' if len(clash) == 1 else ''} in database "
                             f"{target.database} on {target.address}; run `test-rig bench tpcc-cleanup` first, or "
                             "prepare into another database with -d.")
        try:
            for table, sql in zip(TABLES, create_table_sql(), strict=True):
                created.append(table)  # before the statement: an interrupt while it runs must still drop the table
                try:
                    await conn.execute(sql)
                except BaseException as e:
                    if not answer_lost(e):  # refused (e.g. no CREATE privilege): nothing was made
                        created.remove(table)
                    raise
            last = ""
            for table, rows in load_rows(opts, seed):
                if table != last and on_table is not None:
                    on_table(table, counts[table])
                last = table
                await conn.execute(insert_sql(table, rows))
                counts[table] += len(rows)
        except BaseException:
            kept = await asyncio.shield(drop_tables(target, created))
            if left is not None:
                left.extend(kept)
            raise
    finally:
        await conn.close()
    return {"tables": dict(counts), "rows": sum(counts.values()), "seconds": round(time.perf_counter() - started, 3),
            "options": opts.to_dict()}


async def cleanup(target: Target, *, manager: Any) -> dict[str, Any]:
    """Drop the nine tables. Returns which were dropped and which were not there."""
    conn = await connect_existing(target, manager)
    try:
        present = await existing_tables(conn)
        dropped = [t for t in TABLES if t in present]
        for t in dropped:
            await conn.execute(f"DROP TABLE IF EXISTS {t}")
    finally:
        await conn.close()
    return {"dropped": dropped, "absent": [t for t in TABLES if t not in present]}


async def check_prepared(target: Target, opts: TpccOptions, manager: Any) -> None:
    """Before any load: the nine tables exist and hold what these options expect (warehouses, items, customers
    per district); UsageError naming the prepare command otherwise."""
    conn = await connect_existing(target, manager)
    where = f"database {target.database} on {target.address}"
    try:
        missing = [t for t in TABLES if t not in await existing_tables(conn)]
        if missing:
            raise UsageError(f"the TPC-C table{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                             f"{'are' if len(missing) > 1 else 'is'} missing in {where}; run `{prepare_hint(opts)}` "
                             "first.")
        warehouses = int(await conn.scalar("SELECT COUNT(*) FROM warehouse") or 0)
        items = int(await conn.scalar("SELECT COUNT(*) FROM item") or 0)
        customers = int(await conn.scalar("SELECT COUNT(*) FROM customer WHERE c_w_id=1 AND c_d_id=1") or 0)
    finally:
        await conn.close()
    if warehouses < opts.warehouses:
        raise UsageError(f"{where} holds {warehouses} warehouse(s), fewer than --warehouses {opts.warehouses}; run "
                         f"with --warehouses {warehouses} or clean up and `{prepare_hint(opts)}`.")
    if (items, customers) != (opts.items, opts.customers):
        raise UsageError(f"{where} holds {items} items and {customers} customers per district, not the {opts.items} "
                         f"and {opts.customers} of --scale-down {opts.scale_down}; give the --scale-down it was "
                         "prepared with.")


async def check(target: Target, *, manager: Any) -> dict[str, Any]:
    """The consistency conditions judged on the database as it is, read in one consistent snapshot. Returns
    tpcc_check.judge_all's result and the seconds it took; raises when the server cannot be read (the caller
    makes that undecided)."""
    conn = await connect_existing(target, manager)
    started = time.perf_counter()
    try:
        missing = [t for t in TABLES if t not in await existing_tables(conn)]
        if missing:
            raise UsageError(f"the TPC-C table(s) {', '.join(missing)} are missing in database {target.database} on "
                             f"{target.address}; run `test-rig bench tpcc-prepare` first.")
        await conn.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        needed = {q for c in tpcc_check.CONDITIONS for q in c.queries}
        rows: tpcc_check.Rows = {}
        for name in sorted(needed):
            rows[name] = [tuple(r) for r in await conn.fetch(tpcc_check.QUERIES[name])]
        await conn.execute("COMMIT")
    finally:
        await conn.close()
    result = tpcc_check.judge_all(rows)
    result["seconds"] = round(time.perf_counter() - started, 3)
    return result


def check_fields(result: dict[str, Any]) -> dict[str, Any]:
    """The verdict's fields for a check: ok, or the broken conditions as the error (failed: their number), or
    undecided when a judge could not decide."""
    if result["broken"]:
        return {"ok": False, "failed": len(result["broken"]),
                "error": "TPC-C consistency check failed: " + result["summary"]}
    if result["undecided"]:
        return {"ok": None, "undecided": len(result["undecided"]), "unknown": [result["summary"]]}
    return {"ok": True}


async def run(env: Environment, opts: TpccOptions, load: LoadSettings, *, nemesis: Any = None,
              events: LoadEvents | None = None) -> RunResult:
    """`test-rig bench tpcc`: check the tables are prepared (UsageError before any load), run the mix as a bench
    run (bench.measure: one process, worker processes or Ray, the nemesis around it), then check the consistency
    conditions (told first as a line, `events.line`). Returns bench's figures (an operation is a transaction),
    tpmC and the figures per transaction type, `checks`, and the verdict: the run's own failure first
    (transactions that failed with an error that is not retried, without a nemesis; the nemesis's failure), else
    the checks'.
    Interrupted, the checks are not run (`checks` says so) and the result has `complete` false."""
    return RunResult.from_dict(await _run(env, opts, load, nemesis, events))


async def _run(env: Environment, opts: TpccOptions, load: LoadSettings, nemesis: Any,
               events: LoadEvents | None) -> dict[str, Any]:
    from test_rig.load.bench import LoadEvents, measure, resilience

    events = events or LoadEvents()
    check_options(opts)
    target, manager, connect_timeout = env.target(), resilience(env), env.config.database.timeout_secs
    await check_prepared(target, opts, manager(None, connect_timeout))
    data = await measure(env, TpccSpec(opts), load, nemesis=nemesis, events=events)
    data["options"] = opts.to_dict()
    if "operations" in data:
        data["transactions"] = data["operations"]
        data.update(summarize(data.pop("named", None), float(data["seconds"])))
    if data.get("complete") is False:
        data["checks"] = {"summary": "not run: the run was interrupted"}
        return data
    events.line("checking the consistency conditions")
    try:
        checks = await check(target, manager=manager(None, max(connect_timeout, 60.0)))
    except asyncio.CancelledError:  # stopped while checking: the run's figures are kept, the check is not claimed
        from test_rig.environment import PROGRAM_STOP

        data["checks"] = {"summary": "not finished: the run was interrupted while checking"}
        data.update(ok=False, complete=False, error=PROGRAM_STOP.reason())
        return data
    except (DatabaseError, RigError) as e:
        data["checks"] = {"summary": f"could not be run: {e}"}
        data.update(ok=None, undecided=1, unknown=[f"the consistency check could not read the database: {e}"])
        data.pop("error", None)
        return data
    data["checks"] = checks
    if data.get("ok") is not False and "transactions" in data:
        for key in ("undecided", "error", "unknown"):
            data.pop(key, None)
        data.update(run_fields(data["transactions"], data.get("errors_by_code") or {}, nemesis is not None,
                               data.get("error_messages")))
    verdict = check_fields(checks)
    if verdict.get("ok") is False:
        if data.get("ok") is False and data.get("error"):
            verdict["error"] = f"{verdict['error']}; and {data['error']}"
        data.update(verdict)
    elif data.get("ok") is True and verdict.get("ok") is None:
        data.update(verdict)
    return data


async def run_prepare(env: Environment, opts: TpccOptions, *, seed: int = 0) -> RunResult:
    """`test-rig bench tpcc-prepare`: `prepare` on the environment's target, as a RunResult; its opening line and
    each table it loads said on the run's console."""
    env.say(prepare_opening(opts, env.target()))
    made = await prepare(env.target(), opts, manager=env.manager(), seed=seed,
                         on_table=lambda table, _rows: env.say(f"  loading {table}"), left=env.left_on_server)
    return RunResult("bench tpcc-prepare", ok=True, payload=made)


async def run_cleanup(env: Environment) -> RunResult:
    """`test-rig bench tpcc-cleanup`: `cleanup` on the environment's target, as a RunResult."""
    return RunResult("bench tpcc-cleanup", ok=True, payload=await cleanup(env.target(), manager=env.manager()))


async def run_check(env: Environment) -> RunResult:
    """`test-rig bench tpcc-check`: `check` on the environment's target, judged (check_fields), as a RunResult."""
    checks = await check(env.target(), manager=env.manager())
    return RunResult.from_dict({"command": "bench tpcc-check", "checks": checks, **check_fields(checks)})


def run_fields(transactions: int, failed_by_code: dict[str, int], with_nemesis: bool,
               messages: dict[str, str] | None = None) -> dict[str, Any]:
    """`ok` and `error` of the load itself, by the rule of the OLTP workloads: without a nemesis a transaction
    that failed with an error that is not retried fails the run; with one, such errors are the faults' doing; a
    run in which no transaction completed measured nothing (undecided) or only failed."""
    failed = sum(failed_by_code.values())
    shown = by_code_text(failed_by_code, messages)  # each code with the first of its `messages`
    if transactions == 0:
        if not failed:
            return {"ok": None, "undecided": 1, "unknown": ["no transaction finished during the run: nothing was "
                                                            "measured"]}
        return {"ok": False, "error": f"no transaction completed; {failed} failed ({shown})"}
    if failed and not with_nemesis:
        return {"ok": False, "error": f"{failed} transaction{'s' if failed != 1 else ''} failed with errors that are "
                                      f"not retried ({shown})"}
    return {"ok": True}


def console_lines(data: dict[str, Any]) -> list[str]:
    """A run's figures and its check as a person reads them (the JSON holds the same)."""
    from test_rig.load.bench import timeline_lines

    lines: list[str] = []
    if "transactions_by_type" in data:
        def codes(by_code: dict[str, int]) -> str:
            return ", ".join(f"{code}: {n}" for code, n in sorted(by_code.items())) or "-"

        lines.append(f"tpmC {data['tpmC']} (committed New-Orders per minute)  transactions {data['transactions']} "
                     f"({data['qps']} per s)  failed {data['errors']}  reconnects {data['reconnects']}")
        lines.append(f"{'transaction':<14}{'count':>9}{'per s':>9}{'rolled back':>13}{'errors':>8}{'retried':>9}"
                     f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for name, s in data["transactions_by_type"].items():
            lines.append(f"{name:<14}{s['count']:>9}{s['per_second']:>9}{s['rolled_back']:>13}{s['errors']:>8}"
                         f"{s['retried']:>9}{s['p50_ms']:>9.3f}{s['p95_ms']:>9.3f}{s['p99_ms']:>9.3f}"
                         f"{s['max_ms']:>9.3f}")
        lines.append(f"errors by code: {codes(data.get('errors_by_code') or {})}")
        retried: Counter[str] = Counter()
        for s in data["transactions_by_type"].values():
            retried.update(s["retried_by_code"])
        lines.append(f"retried by code: {codes(dict(retried))}")
        lines.extend(timeline_lines(data, "transactions/s"))
    checks = data.get("checks")
    if isinstance(checks, dict):
        lines.extend(check_lines(checks))
    return lines


def check_lines(checks: dict[str, Any]) -> list[str]:
    """The check's summary, then each broken or undecided condition with the rows that show it."""
    lines = [f"consistency check: {checks.get('summary', 'not run')}"]
    for c in checks.get("conditions") or []:
        if c["holds"] is True:
            continue
        if c["holds"] is None:
            lines.append(f"  {c['clause']} {c['statement']}: not decided ({c.get('error')})")
            continue
        lines.append(f"  {c['clause']} {c['statement']}: broken in {c['violations']} row(s)"
                     + (f", the first {len(c['rows'])}:" if len(c["rows"]) < c["violations"] else ":"))
        for row in c["rows"]:
            lines.append("    " + _row(row))
    return lines


def _row(row: dict[str, Any]) -> str:
    """A row that shows a broken condition, as a person reads it: a SQL NULL (e.g. the max of no rows) is NULL."""
    return "  ".join(f"{k}={'NULL' if v is None else v}" for k, v in row.items())


def suites(data: dict[str, Any]) -> list[Suite]:
    """The JUnit file of a run (bench's case, then one case per condition) or of a check alone: a condition's case
    fails with its rows when broken, errs when not decided."""
    from test_rig.load.bench import bench_suites
    from test_rig.report.files import Case, Suite

    out = [] if data.get("command") == "bench tpcc-check" else bench_suites(data)
    checks = data.get("checks")
    if isinstance(checks, dict) and ("conditions" in checks or not out):
        suite = Suite("tpcc-check")
        for c in checks.get("conditions") or []:
            rows = "\n".join(_row(r) for r in c["rows"])
            suite.add(Case(f"{c['clause']} {c['statement']}", "test_rig.tpcc",
                           failure=f"broken in {c['violations']} row(s)\n{rows}" if c["holds"] is False else None,
                           error=f"not decided: {c.get('error')}" if c["holds"] is None else None))
        out.append(suite)
    return out


def prepare_lines(data: dict[str, Any]) -> list[str]:
    """A prepare's closing line: the rows loaded, the seconds it took, the rows per table."""
    return [f"prepared {data['rows']} rows in {data['seconds']:.1f} s: "
            + ", ".join(f"{t} {n}" for t, n in data["tables"].items())]


def opening(opts: TpccOptions, load: LoadSettings, address: str) -> str:
    """A run's first console line: the warehouses, the terminals, the mix and where."""
    return (f"test-rig bench tpcc: {opts.warehouses} warehouse(s)"
            + ("" if opts.scale_down == 1 else f" scaled down {opts.scale_down}× (not spec-sized)")
            + f", {load.connections} terminals, {load.duration:g} s, mix " + "/".join(map(str, opts.mix))
            + f", against {address}")


def prepare_opening(opts: TpccOptions, target: Target) -> str:
    """A prepare's first console line: what it loads and where."""
    return (f"test-rig bench tpcc-prepare: {opts.warehouses} warehouse(s), {opts.items} items, {opts.customers} "
            "customers per district" + ("" if opts.scale_down == 1 else f" (scaled down {opts.scale_down}×, not "
                                        "spec-sized)") + f" in {target.database} on {target.address}")
