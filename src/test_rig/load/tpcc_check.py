"""The TPC-C consistency conditions (specification clause 3.3.2, conditions 1 to 12) as pure judges: each takes
the rows of a few aggregate queries and returns the findings that break it (the rows that show it), so the
judges are tested on data and `load.tpcc.check` only runs the queries.

Written from the specification's text and from reading go-tpc's `tpcc/check.go`; our own code. The server does
the aggregation (sums and counts per warehouse, district, order or customer), the comparison is done here, with
exact decimals, so a finding can say which key broke and with which values. Condition 11 is stated by the
specification for a database as loaded (count(ORDER) - count(NEW-ORDER) = 2100 per district); after a run that
delivered orders it is checked in the form that stays true: the initially delivered orders (2100 at spec size,
70 % of the orders loaded per district) plus the orders delivered since the load, i.e. those with an id above
that with a carrier set (go-tpc leaves condition 11 out after a run instead).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

Row = Sequence[Any]
Rows = dict[str, list[Row]]  # query name -> its rows
Finding = dict[str, Any]  # one key that breaks a condition, with the values that show it

#: The aggregate queries the judges read; each row's columns are named in the judge that reads it.
QUERIES: dict[str, str] = {
    "warehouse": "SELECT w_id, w_ytd FROM warehouse",
    "district": "SELECT d_w_id, d_id, d_ytd, d_next_o_id FROM district",
    "district_ytd": "SELECT d_w_id, SUM(d_ytd) FROM district GROUP BY d_w_id",
    "orders_by_district": "SELECT o_w_id, o_d_id, MAX(o_id), COUNT(*), SUM(o_ol_cnt) FROM orders "
                          "GROUP BY o_w_id, o_d_id",
    "new_order_by_district": "SELECT no_w_id, no_d_id, MIN(no_o_id), MAX(no_o_id), COUNT(*) FROM new_order "
                             "GROUP BY no_w_id, no_d_id",
    "order_line_by_district": "SELECT ol_w_id, ol_d_id, COUNT(*) FROM order_line GROUP BY ol_w_id, ol_d_id",
    "customers_by_district": "SELECT c_w_id, c_d_id, COUNT(*) FROM customer GROUP BY c_w_id, c_d_id",
    # one row per order: its carrier, line count, whether it is queued in NEW-ORDER, its lines and undelivered ones
    "orders": "SELECT o.o_w_id, o.o_d_id, o.o_id, o.o_carrier_id, o.o_ol_cnt, "
              "(SELECT COUNT(*) FROM new_order n WHERE n.no_w_id = o.o_w_id AND n.no_d_id = o.o_d_id "
              "AND n.no_o_id = o.o_id), "
              "COUNT(l.ol_o_id), COALESCE(SUM(l.ol_o_id IS NOT NULL AND l.ol_delivery_d IS NULL), 0) "
              "FROM orders o LEFT JOIN order_line l ON l.ol_w_id = o.o_w_id AND l.ol_d_id = o.o_d_id "
              "AND l.ol_o_id = o.o_id GROUP BY o.o_w_id, o.o_d_id, o.o_id, o.o_carrier_id, o.o_ol_cnt",
    "new_order_orphans": "SELECT n.no_w_id, n.no_d_id, n.no_o_id FROM new_order n LEFT JOIN orders o "
                         "ON o.o_w_id = n.no_w_id AND o.o_d_id = n.no_d_id AND o.o_id = n.no_o_id WHERE o.o_id IS NULL",
    "order_line_orphans": "SELECT l.ol_w_id, l.ol_d_id, l.ol_o_id, COUNT(*) FROM order_line l LEFT JOIN orders o "
                          "ON o.o_w_id = l.ol_w_id AND o.o_d_id = l.ol_d_id AND o.o_id = l.ol_o_id "
                          "WHERE o.o_id IS NULL GROUP BY l.ol_w_id, l.ol_d_id, l.ol_o_id",
    "history_by_warehouse": "SELECT h_w_id, SUM(h_amount) FROM history GROUP BY h_w_id",
    "history_by_district": "SELECT h_w_id, h_d_id, SUM(h_amount) FROM history GROUP BY h_w_id, h_d_id",
    "history_by_customer": "SELECT h_c_w_id, h_c_d_id, h_c_id, SUM(h_amount) FROM history "
                           "GROUP BY h_c_w_id, h_c_d_id, h_c_id",
    "customer": "SELECT c_w_id, c_d_id, c_id, c_balance, c_ytd_payment FROM customer",
    "delivered_by_customer": "SELECT o.o_w_id, o.o_d_id, o.o_c_id, SUM(l.ol_amount) FROM orders o "
                             "JOIN order_line l ON l.ol_w_id = o.o_w_id AND l.ol_d_id = o.o_d_id "
                             "AND l.ol_o_id = o.o_id WHERE l.ol_delivery_d IS NOT NULL "
                             "GROUP BY o.o_w_id, o.o_d_id, o.o_c_id",
}


def _dec(value: Any) -> Decimal:
    return Decimal(0) if value is None else value if isinstance(value, Decimal) else Decimal(str(value))


def _text(value: Any) -> Any:
    """A value as a finding shows it (JSON: decimals as their exact text)."""
    return str(value) if isinstance(value, Decimal) else value


def _by_key(rows: list[Row], width: int) -> dict[tuple[Any, ...], Row]:
    return {tuple(int(v) for v in r[:width]): r for r in rows}


# --------------------------------------------------------------------------- the judges, one per condition


def _warehouse_ytd(rows: Rows, sums_query: str, sum_name: str) -> list[Finding]:
    """The warehouses whose W_YTD is not the sum `sums_query` gives per warehouse (none there: 0)."""
    sums = _by_key(rows[sums_query], 1)
    out = []
    for w_id, w_ytd in rows["warehouse"]:
        total = _dec(sums[(int(w_id),)][1]) if (int(w_id),) in sums else Decimal(0)
        if _dec(w_ytd) != total:
            out.append({"w_id": int(w_id), "w_ytd": _text(w_ytd), sum_name: _text(total)})
    return out


def ytd_warehouse_districts(rows: Rows) -> list[Finding]:
    """1: W_YTD = sum(D_YTD) for each warehouse."""
    return _warehouse_ytd(rows, "district_ytd", "sum_d_ytd")


def next_order_ids(rows: Rows) -> list[Finding]:
    """2: D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID) for each district (NO_O_ID only where it has new orders)."""
    orders, queued = _by_key(rows["orders_by_district"], 2), _by_key(rows["new_order_by_district"], 2)
    out = []
    for w_id, d_id, _ytd, next_o_id in rows["district"]:
        key = (int(w_id), int(d_id))
        max_o = int(orders[key][2]) if key in orders else 0
        max_no = int(queued[key][3]) if key in queued else None
        if int(next_o_id) - 1 != max_o or (max_no is not None and int(next_o_id) - 1 != max_no):
            out.append({"w_id": key[0], "d_id": key[1], "d_next_o_id": int(next_o_id), "max_o_id": max_o,
                        "max_no_o_id": max_no})
    return out


def new_orders_contiguous(rows: Rows) -> list[Finding]:
    """3: max(NO_O_ID) - min(NO_O_ID) + 1 = the number of NEW-ORDER rows, for each district."""
    out = []
    for w_id, d_id, low, high, count in rows["new_order_by_district"]:
        if int(high) - int(low) + 1 != int(count):
            out.append({"w_id": int(w_id), "d_id": int(d_id), "min_no_o_id": int(low), "max_no_o_id": int(high),
                        "new_orders": int(count)})
    return out


def order_line_counts_by_district(rows: Rows) -> list[Finding]:
    """4: sum(O_OL_CNT) = the number of ORDER-LINE rows, for each district."""
    lines = _by_key(rows["order_line_by_district"], 2)
    orders = _by_key(rows["orders_by_district"], 2)
    out = []
    for key in sorted(set(lines) | set(orders)):
        declared = int(orders[key][4]) if key in orders else 0
        present = int(lines[key][2]) if key in lines else 0
        if declared != present:
            out.append({"w_id": key[0], "d_id": key[1], "sum_o_ol_cnt": declared, "order_lines": present})
    return out


def carrier_iff_delivered(rows: Rows) -> list[Finding]:
    """5: O_CARRIER_ID is null exactly for the orders that have a NEW-ORDER row."""
    out: list[Finding] = []
    for w_id, d_id, o_id, carrier, _cnt, queued, _lines, _undelivered in rows["orders"]:
        if (carrier is None) != (int(queued) > 0):
            out.append({"w_id": int(w_id), "d_id": int(d_id), "o_id": int(o_id), "o_carrier_id": carrier,
                        "in_new_order": int(queued) > 0})
    for w_id, d_id, o_id in rows["new_order_orphans"]:
        out.append({"w_id": int(w_id), "d_id": int(d_id), "o_id": int(o_id), "o_carrier_id": None,
                    "in_new_order": True, "order": "missing"})
    return out


def order_lines_per_order(rows: Rows) -> list[Finding]:
    """6: O_OL_CNT = the number of ORDER-LINE rows of that order, for each order."""
    out: list[Finding] = []
    for w_id, d_id, o_id, _carrier, cnt, _queued, lines, _undelivered in rows["orders"]:
        if int(cnt) != int(lines):
            out.append({"w_id": int(w_id), "d_id": int(d_id), "o_id": int(o_id), "o_ol_cnt": int(cnt),
                        "order_lines": int(lines)})
    for w_id, d_id, o_id, lines in rows["order_line_orphans"]:
        out.append({"w_id": int(w_id), "d_id": int(d_id), "o_id": int(o_id), "o_ol_cnt": None,
                    "order_lines": int(lines), "order": "missing"})
    return out


def delivery_dates(rows: Rows) -> list[Finding]:
    """7: OL_DELIVERY_D is null exactly for the lines of orders whose O_CARRIER_ID is null."""
    out = []
    for w_id, d_id, o_id, carrier, _cnt, _queued, lines, undelivered in rows["orders"]:
        expected = int(lines) if carrier is None else 0
        if int(undelivered) != expected:
            out.append({"w_id": int(w_id), "d_id": int(d_id), "o_id": int(o_id), "o_carrier_id": carrier,
                        "order_lines": int(lines), "lines_without_delivery_d": int(undelivered)})
    return out


def ytd_warehouse_history(rows: Rows) -> list[Finding]:
    """8: W_YTD = sum(H_AMOUNT) of the payments made at that warehouse (the load's history included)."""
    return _warehouse_ytd(rows, "history_by_warehouse", "sum_h_amount")


def ytd_district_history(rows: Rows) -> list[Finding]:
    """9: D_YTD = sum(H_AMOUNT) of the payments made at that district."""
    paid = _by_key(rows["history_by_district"], 2)
    out = []
    for w_id, d_id, d_ytd, _next in rows["district"]:
        key = (int(w_id), int(d_id))
        total = _dec(paid[key][2]) if key in paid else Decimal(0)
        if _dec(d_ytd) != total:
            out.append({"w_id": key[0], "d_id": key[1], "d_ytd": _text(d_ytd), "sum_h_amount": _text(total)})
    return out


def _customer_sums(rows: Rows) -> list[tuple[tuple[int, ...], Decimal, Decimal, Decimal, Decimal]]:
    delivered, paid = _by_key(rows["delivered_by_customer"], 3), _by_key(rows["history_by_customer"], 3)
    out: list[tuple[tuple[int, ...], Decimal, Decimal, Decimal, Decimal]] = []
    for w_id, d_id, c_id, balance, ytd_payment in rows["customer"]:
        key = (int(w_id), int(d_id), int(c_id))
        out.append((key, _dec(balance), _dec(ytd_payment), _dec(delivered[key][3]) if key in delivered
                    else Decimal(0), _dec(paid[key][3]) if key in paid else Decimal(0)))
    return out


def customer_balance(rows: Rows) -> list[Finding]:
    """10: C_BALANCE = sum(OL_AMOUNT) of the customer's delivered order lines - sum(H_AMOUNT) of its payments."""
    return [{"w_id": k[0], "d_id": k[1], "c_id": k[2], "c_balance": _text(balance),
             "sum_delivered_ol_amount": _text(delivered), "sum_h_amount": _text(paid)}
            for k, balance, _ytd, delivered, paid in _customer_sums(rows) if balance != delivered - paid]


def orders_less_new_orders(rows: Rows) -> list[Finding]:
    """11 (in the form that holds after deliveries): count(ORDER) - count(NEW-ORDER) = the orders loaded as
    delivered (70 % of the customers per district: 2100 at spec size) + those delivered since (id above that,
    carrier set), for each district."""
    orders, queued = _by_key(rows["orders_by_district"], 2), _by_key(rows["new_order_by_district"], 2)
    delivered_since: dict[tuple[int, int], int] = {}
    loaded_delivered = {(int(w), int(d)): int(n) - int(n) * 3 // 10 for w, d, n in rows["customers_by_district"]}
    for w_id, d_id, o_id, carrier, *_rest in rows["orders"]:
        key = (int(w_id), int(d_id))
        if carrier is not None and int(o_id) > loaded_delivered.get(key, 0):
            delivered_since[key] = delivered_since.get(key, 0) + 1
    out = []
    for key in sorted(loaded_delivered):
        n_orders = int(orders[key][3]) if key in orders else 0
        n_new = int(queued[key][4]) if key in queued else 0
        expected = loaded_delivered[key] + delivered_since.get(key, 0)
        if n_orders - n_new != expected:
            out.append({"w_id": key[0], "d_id": key[1], "orders": n_orders, "new_orders": n_new,
                        "loaded_delivered": loaded_delivered[key], "delivered_since": delivered_since.get(key, 0)})
    return out


def customer_balance_and_payments(rows: Rows) -> list[Finding]:
    """12: C_BALANCE + C_YTD_PAYMENT = sum(OL_AMOUNT) of the customer's delivered order lines."""
    return [{"w_id": k[0], "d_id": k[1], "c_id": k[2], "c_balance": _text(balance), "c_ytd_payment": _text(ytd),
             "sum_delivered_ol_amount": _text(delivered)}
            for k, balance, ytd, delivered, _paid in _customer_sums(rows) if balance + ytd != delivered]


@dataclass(frozen=True)
class Condition:
    """One consistency condition: its clause, what it says, the queries its judge reads, the judge."""

    clause: str
    statement: str
    queries: tuple[str, ...]
    judge: Callable[[Rows], list[Finding]]


CONDITIONS: tuple[Condition, ...] = (
    Condition("3.3.2.1", "W_YTD = sum(D_YTD)", ("warehouse", "district_ytd"), ytd_warehouse_districts),
    Condition("3.3.2.2", "D_NEXT_O_ID - 1 = max(O_ID) = max(NO_O_ID)",
              ("district", "orders_by_district", "new_order_by_district"), next_order_ids),
    Condition("3.3.2.3", "max(NO_O_ID) - min(NO_O_ID) + 1 = count(NEW-ORDER)", ("new_order_by_district",),
              new_orders_contiguous),
    Condition("3.3.2.4", "sum(O_OL_CNT) = count(ORDER-LINE)", ("orders_by_district", "order_line_by_district"),
              order_line_counts_by_district),
    Condition("3.3.2.5", "O_CARRIER_ID is null exactly for orders in NEW-ORDER", ("orders", "new_order_orphans"),
              carrier_iff_delivered),
    Condition("3.3.2.6", "O_OL_CNT = count(ORDER-LINE) of each order", ("orders", "order_line_orphans"),
              order_lines_per_order),
    Condition("3.3.2.7", "OL_DELIVERY_D is null exactly when O_CARRIER_ID is null", ("orders",), delivery_dates),
    Condition("3.3.2.8", "W_YTD = sum(H_AMOUNT)", ("warehouse", "history_by_warehouse"), ytd_warehouse_history),
    Condition("3.3.2.9", "D_YTD = sum(H_AMOUNT)", ("district", "history_by_district"), ytd_district_history),
    Condition("3.3.2.10", "C_BALANCE = sum(delivered OL_AMOUNT) - sum(H_AMOUNT)",
              ("customer", "delivered_by_customer", "history_by_customer"), customer_balance),
    Condition("3.3.2.11", "count(ORDER) - count(NEW-ORDER) = orders loaded delivered + delivered since",
              ("orders_by_district", "new_order_by_district", "customers_by_district", "orders"),
              orders_less_new_orders),
    Condition("3.3.2.12", "C_BALANCE + C_YTD_PAYMENT = sum(delivered OL_AMOUNT)",
              ("customer", "delivered_by_customer"), customer_balance_and_payments),
)

#: Rows of a broken condition a report shows (all are counted).
SHOWN_ROWS = 10


def judge_all(rows: Rows) -> dict[str, Any]:
    """Every condition judged on `rows` (query name -> rows): {"conditions": [{clause, statement, holds,
    violations, rows (the first SHOWN_ROWS findings)}], "held", "of", "broken": [clauses], "summary"}. A judge
    that raises (rows of an unexpected shape) leaves its condition undecided (`holds: None`, `error`)."""
    results = []
    for c in CONDITIONS:
        entry: dict[str, Any] = {"clause": c.clause, "statement": c.statement}
        try:
            findings = c.judge(rows)
        except Exception as e:  # a checker that crashes says unknown; it never takes the run down
            entry.update(holds=None, error=f"{type(e).__name__}: {e}", violations=0, rows=[])
        else:
            entry.update(holds=not findings, violations=len(findings), rows=findings[:SHOWN_ROWS])
        results.append(entry)
    return summarize(results)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    held = sum(1 for r in results if r["holds"] is True)
    broken = [r["clause"] for r in results if r["holds"] is False]
    undecided = [r["clause"] for r in results if r["holds"] is None]
    text = f"{held} of {len(results)} conditions hold"
    if broken:
        text += "; broken: " + ", ".join(f"{r['clause']} ({r['statement']}, {r['violations']} row"
                                         f"{'s' if r['violations'] != 1 else ''})"
                                         for r in results if r["holds"] is False)
    if undecided:
        text += "; not decided: " + ", ".join(undecided)
    return {"conditions": results, "held": held, "of": len(results), "broken": broken, "undecided": undecided,
            "summary": text}
