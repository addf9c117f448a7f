"""`test-rig bench tpcc-prepare | tpcc | tpcc-check | tpcc-cleanup`: the TPC-C-style order-entry workload
(load/tpcc.py) as bench commands. Commands of their own rather than `bench prepare --workload tpcc`: `bench
prepare` takes sysbench's options (--tables, --table-size, --auto-inc), none of which means anything here, and
TPC-C's (--warehouses, --scale-down) mean nothing to sysbench's tables. The run goes on bench's free-running
path, so --processes, --ray, --nemesis, timelines and --html work as for the other bench workloads."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.common import (
    build_environment,
    common_options,
    guarded,
    html_option,
    nemesis_options,
    nemesis_spec,
    run_feature,
    show_nemesis,
)
from test_rig.errors import UsageError
from test_rig.load import tpcc
from test_rig.report.files import Case, Suite


def _size_options(fn: Any) -> Any:
    for option in reversed([
        click.option("--warehouses", type=int, default=1, show_default=True,
                     help="Warehouses (TPC-C's scale: 10 districts, 3,000 customers each, per warehouse)."),
        click.option("--scale-down", type=int, default=1, show_default=True, metavar="F",
                     help="NOT SPEC-SIZED above 1: divide the items (100,000) and the customers and orders per "
                          "district (3,000) by F, for quick tests; give the same F to every tpcc command."),
    ]):
        fn = option(fn)
    return fn


def _options(params: dict[str, Any], mix: str | None = None) -> tpcc.TpccOptions:
    opts = tpcc.TpccOptions(warehouses=params.pop("warehouses"), scale_down=params.pop("scale_down"),
                            mix=tpcc.parse_mix(mix) if mix is not None else tpcc.DEFAULT_MIX)
    tpcc.check_options(opts)
    return opts


@click.command("tpcc-prepare")
@common_options
@_size_options
@click.option("--seed", type=int, default=0, show_default=True)
@click.pass_context
@guarded
def prepare_cmd(ctx: click.Context, /, seed: int, **params: Any) -> None:
    """Create and load the nine TPC-C tables (refused when one already exists: run tpcc-cleanup first)."""
    opts = _options(params)
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig bench tpcc-prepare: {opts.warehouses} warehouse(s), {opts.items} items, "
                      f"{opts.customers} customers per district" + ("" if opts.scale_down == 1 else
                                                                   f" (scaled down {opts.scale_down}×, not spec-sized)")
                      + f" in {target.database} on {target.address}", markup=False)
    data = run_feature(lambda: tpcc.prepare(
        target, opts, manager=env.manager(), seed=seed,
        on_table=lambda table, _n: env.console.print(f"  loading {table}", markup=False)))
    data["ok"] = True
    env.console.print(f"prepared {data['rows']} rows in {data['seconds']:.1f} s: "
                      + ", ".join(f"{t} {n}" for t, n in data["tables"].items()), markup=False)
    env.conclude(data, [Suite("bench", [Case("tpcc-prepare", "test_rig.load.bench", data["seconds"])])])


@click.command("tpcc-cleanup")
@common_options
@click.pass_context
@guarded
def cleanup_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Drop the nine TPC-C tables."""
    env = build_environment(ctx, params)
    target = env.target()
    data = run_feature(lambda: tpcc.cleanup(target, manager=env.manager()))
    data["ok"] = True
    env.console.print(f"dropped {', '.join(data['dropped']) or 'nothing'}"
                      + (f"; not there: {', '.join(data['absent'])}" if data["absent"] else ""), markup=False)
    env.conclude(data, [Suite("bench", [Case("tpcc-cleanup", "test_rig.load.bench")])])


@click.command("tpcc-check")
@common_options
@click.pass_context
@guarded
def check_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Judge the TPC-C consistency conditions (clause 3.3.2, 1 to 12) on the tables as they are: exit 0 when
    all hold, 1 naming the broken ones with the rows that show it."""
    env = build_environment(ctx, params)
    target = env.target()
    checks = run_feature(lambda: tpcc.check(target, manager=env.manager()))
    data: dict[str, Any] = {"command": "bench tpcc-check", "checks": checks, **tpcc.check_fields(checks)}
    for line in check_lines(checks):
        env.console.print(line, markup=False, highlight=False)
    env.conclude(data, [check_suite(checks)])


@click.command("tpcc")
@common_options
@html_option
@nemesis_options
@_size_options
@click.option("--connections", type=click.IntRange(1, 100_000), default=8, show_default=True,
              help="Terminals: connections, each running one transaction after another (no keying or think time).")
@click.option("--duration", type=click.FloatRange(0.1, None), default=10.0, show_default=True, help="Seconds.")
@click.option("--mix", default=",".join(map(str, tpcc.DEFAULT_MIX)), show_default=True,
              metavar="W,W,W,W,W|name=W,...",
              help="Weights of new-order, payment, order-status, delivery, stock-level (TPC-C's minimum mix by "
                   "default), or name=weight pairs with the others 0.")
@click.option("--warmup", type=click.FloatRange(0, None), default=0.0, show_default=True, help="Seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--processes", type=click.IntRange(1, 256), default=1, show_default=True,
              help="Worker processes the connections are split over; with --ray, Ray actors.")
@click.option("--ray", "ray_address", default=None, metavar="ADDRESS|auto",
              help="Run the workers as Ray actors on the Ray cluster at ADDRESS (needs test-rig[ray]).")
@click.pass_context
@guarded
def run_cmd(ctx: click.Context, /, connections: int, duration: float, mix: str, warmup: float, seed: int,
            processes: int, ray_address: str | None, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    from test_rig.load.bench import bench_suites

    opts = _options(params, mix)
    if processes > connections:
        raise UsageError(f"--processes {processes} is more than --connections {connections}; each process needs "
                         "at least one connection.")
    if warmup and (processes > 1 or ray_address is not None):
        raise UsageError(f"--warmup applies to a run in one process; with --{'ray' if ray_address else 'processes'} "
                         "leave it out.")
    if ray_address is not None:
        from test_rig.load.processes import check_ray

        check_ray(ray_address)
    spec = nemesis_spec(ctx, params, seed)
    env = build_environment(ctx, params)
    target = env.target()
    env.console.print(f"test-rig bench tpcc: {opts.warehouses} warehouse(s)"
                      + ("" if opts.scale_down == 1 else f" scaled down {opts.scale_down}× (not spec-sized)")
                      + f", {connections} terminals, {duration:g} s, mix "
                      + "/".join(map(str, opts.mix)) + f", against {target.address}", markup=False)
    env.quiet_retries = True
    data = run_feature(lambda: tpcc.run(
        target, opts, connections=connections, duration=duration,
        manager=lambda breaker, overall: env.manager(breaker=breaker, overall_timeout=overall),
        connect_timeout=env.config.database.timeout_secs, seed=seed, warmup=warmup, processes=processes,
        ray=ray_address, nemesis=spec, on_nemesis=lambda nemesis: show_nemesis(env, nemesis),
        on_load_start=lambda n: env.console.print(f"load started: {n} of {connections} terminals"),
        on_second=lambda t, ops, errors: env.console.print(f"  {t:>4} s: {ops} transactions, {errors} failed"),
        on_check=lambda: env.console.print("checking the consistency conditions")))
    for line in console_lines(data):
        env.console.print(line, markup=False, highlight=False)
    suites = bench_suites(data)
    if isinstance(data.get("checks"), dict) and "conditions" in data["checks"]:
        suites.append(check_suite(data["checks"]))
    env.conclude(data, suites)


def console_lines(data: dict[str, Any]) -> list[str]:
    """A run's figures and its check as a person reads them (the JSON holds the same)."""
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
        retried: dict[str, int] = {}
        for s in data["transactions_by_type"].values():
            for code, n in s["retried_by_code"].items():
                retried[code] = retried.get(code, 0) + n
        lines.append(f"retried by code: {codes(retried)}")
        lines.append("timeline (transactions/s): " + " ".join(str(t["ops"]) + ("!" if t.get("faults") else "")
                                                            for t in data.get("timeline") or []))
        if data.get("nemesis"):
            lines.append(f"nemesis: {len(data['nemesis']['windows'])} fault window(s) (! marks the seconds they "
                         "cover)")
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


def check_suite(checks: dict[str, Any]) -> Suite:
    """One JUnit case per condition: a failure with its rows when broken, an error when not decided."""
    suite = Suite("tpcc-check")
    for c in checks.get("conditions") or []:
        rows = "\n".join(_row(r) for r in c["rows"])
        suite.add(Case(f"{c['clause']} {c['statement']}", "test_rig.tpcc",
                       failure=f"broken in {c['violations']} row(s)\n{rows}" if c["holds"] is False else None,
                       error=f"not decided: {c.get('error')}" if c["holds"] is None else None))
    return suite


#: Every command this module adds to the `bench` group.
TPCC_COMMANDS: list[click.Command] = [prepare_cmd, run_cmd, check_cmd, cleanup_cmd]
