"""`test-rig bench tpcc-prepare | tpcc | tpcc-check | tpcc-cleanup`: the TPC-C-style order-entry workload
(load/tpcc.py) as bench commands. Commands of their own rather than `bench prepare --workload tpcc`: `bench
prepare` takes sysbench's options (--tables, --table-size, --auto-inc), none of which means anything here, and
TPC-C's (--warehouses, --scale-down) mean nothing to sysbench's tables. The run goes on bench's free-running
path, so --processes, --ray, --nemesis, timelines and --html work as for the other bench workloads."""

from __future__ import annotations

from typing import Any

import click

from test_rig.cli.bench_options import bench_command, finish, live, load_options, say, stack, start
from test_rig.cli.common import build_environment, common_options
from test_rig.load import tpcc
from test_rig.load.bench import cleanup_lines, step_suites

_size_options = stack(
    click.option("--warehouses", type=int, default=1, show_default=True,
                 help="Warehouses (TPC-C's scale: 10 districts, 3,000 customers each, per warehouse)."),
    click.option("--scale-down", type=int, default=1, show_default=True, metavar="F",
                 help="NOT SPEC-SIZED above 1: divide the items (100,000) and the customers and orders per "
                      "district (3,000) by F, for quick tests; give the same F to every tpcc command."))


def _options(params: dict[str, Any], mix: str | None = None) -> tpcc.TpccOptions:
    opts = tpcc.TpccOptions(warehouses=params.pop("warehouses"), scale_down=params.pop("scale_down"),
                            mix=tpcc.parse_mix(mix) if mix is not None else tpcc.DEFAULT_MIX)
    tpcc.check_options(opts)
    return opts


@bench_command("tpcc-prepare")
@common_options
@_size_options
@click.option("--seed", type=int, default=0, show_default=True)
def prepare_cmd(ctx: click.Context, /, seed: int, **params: Any) -> None:
    """Create and load the nine TPC-C tables (refused when one already exists: run tpcc-cleanup first)."""
    opts = _options(params)
    env = build_environment(ctx, params)
    target = env.target()
    say(env, f"test-rig bench tpcc-prepare: {opts.warehouses} warehouse(s), {opts.items} items, {opts.customers} "
             "customers per district" + ("" if opts.scale_down == 1 else
                                         f" (scaled down {opts.scale_down}×, not spec-sized)")
             + f" in {target.database} on {target.address}")
    finish(env, lambda: tpcc.run_prepare(env, opts, seed=seed, on_table=lambda t, _n: say(env, f"  loading {t}")),
           tpcc.prepare_lines, step_suites)


@bench_command("tpcc-cleanup")
@common_options
def cleanup_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Drop the nine TPC-C tables."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_cleanup(env), cleanup_lines, step_suites)


@bench_command("tpcc-check")
@common_options
def check_cmd(ctx: click.Context, /, **params: Any) -> None:
    """Judge the TPC-C consistency conditions (clause 3.3.2, 1 to 12) on the tables as they are: exit 0 when
    all hold, 1 naming the broken ones with the rows that show it."""
    env = build_environment(ctx, params)
    finish(env, lambda: tpcc.run_check(env), tpcc.console_lines, tpcc.suites)


_MIX = click.option("--mix", default=",".join(map(str, tpcc.DEFAULT_MIX)), show_default=True,
                    metavar="W,W,W,W,W|name=W,...",
                    help="Weights of new-order, payment, order-status, delivery, stock-level (TPC-C's minimum mix "
                         "by default), or name=weight pairs with the others 0.")


@bench_command("tpcc")
@load_options(connections="Terminals: connections, each running one transaction after another (no keying or think "
                          "time).", first=[_size_options], middle=[_MIX])
def run_cmd(ctx: click.Context, /, mix: str, **params: Any) -> None:
    """Run the TPC-C-style mix for a duration, then check the consistency conditions: tpmC, latency per
    transaction type, errors by code, and a verdict on the data."""
    opts = _options(params, mix)
    env, load, spec = start(ctx, params)
    say(env, f"test-rig bench tpcc: {opts.warehouses} warehouse(s)"
             + ("" if opts.scale_down == 1 else f" scaled down {opts.scale_down}× (not spec-sized)")
             + f", {load.connections} terminals, {load.duration:g} s, mix " + "/".join(map(str, opts.mix))
             + f", against {env.target().address}")
    events = live(env, load, "terminals", "transactions", "failed",
                  on_check=lambda: say(env, "checking the consistency conditions"))
    finish(env, lambda: tpcc.run(env, opts, load, nemesis=spec, events=events), tpcc.console_lines, tpcc.suites)


#: Every command this module adds to the `bench` group.
TPCC_COMMANDS: list[click.Command] = [prepare_cmd, run_cmd, check_cmd, cleanup_cmd]
