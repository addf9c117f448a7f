"""`test-rig bench point-select|select-1`: free-running load; throughput, latency, errors, a timeline."""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from test_rig.cli.bench_options import bench_command, finish, live, load_options, say, start

_PROCESSES = ("Worker processes the connections are split over (one process tops out at one core); with --ray, Ray "
              "actors.")
_RAY = "Run the workers as Ray actors spread over the Ray cluster at ADDRESS (needs test-rig[ray])."


@click.group()
def bench() -> None:
    """Free-running workloads that measure throughput and latency."""


def _command(name: str, table_size: bool, summary: str) -> click.Command:
    def command(ctx: click.Context, /, **params: Any) -> None:
        from test_rig.load import bench as feature

        size = params.pop("table_size", 0)
        env, load, spec = start(ctx, params)
        say(env, f"test-rig bench {name}: {load.connections} connections, {load.duration:g} s, "
                 + (f"{size} rows, " if size else "") + f"against {env.target().address}")
        finish(env, lambda: feature.run(env, name, load, table_size=size, nemesis=spec,
                                        events=live(env, load, "connections", "ops", "errors")),
               _lines, feature.bench_suites)

    command.__doc__ = summary
    if table_size:
        command = click.option("--table-size", type=click.IntRange(1, 100_000_000), default=10_000,
                               show_default=True)(command)
    return bench_command(name)(load_options(processes=_PROCESSES, ray=_RAY)(command))


def _lines(data: dict[str, Any]) -> list[Any]:
    """The figures, then why the run did not test what was asked, or what it could not decide."""
    from test_rig.load.bench import figure_lines

    lines: list[Any] = list(figure_lines(data))
    if data.get("complete") is not False and data.get("error"):
        lines.append(Text(f"The run did not test what was asked: {data['error']}", style="red"))
    return lines + [Text.assemble(("not decided", "yellow"), f": {reason}") for reason in data.get("unknown") or []]


bench.add_command(_command("point-select", True, "Point selects by random id on a sysbench-like table, N "
                                                 "connections, for a duration."))
bench.add_command(_command("select-1", False, "`SELECT 1` on N connections, for a duration: no table, almost no "
                           "server work, so the client's own cost per query is what is measured (and what more "
                           "--processes can spread over more cores)."))

# sysbench's OLTP workloads (cli/bench_oltp.py), the TPC-C-style one (cli/bench_tpcc.py) and the user's own
# (cli/bench_user.py) are commands of this group too.
from test_rig.cli.bench_oltp import OLTP_COMMANDS  # noqa: E402
from test_rig.cli.bench_tpcc import TPCC_COMMANDS  # noqa: E402
from test_rig.cli.bench_user import USER_COMMANDS  # noqa: E402

for _command_ in OLTP_COMMANDS + TPCC_COMMANDS + USER_COMMANDS:
    bench.add_command(_command_)
