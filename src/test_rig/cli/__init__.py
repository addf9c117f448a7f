"""The command line: a thin adapter. Each command parses its options, calls one feature function and
renders the result; one module per command (or group of commands)."""

from __future__ import annotations

import signal
import sys
import threading
from typing import Any

import click

from .. import __version__
from ..errors import Terminated
from ..report import RedactingStream
from .basic import basic
from .bench import bench
from .common import build_environment, common_options, guarded
from .config import config_gen, report_cmd, show_config
from .gendata import gen_data
from .history import check_cmd, elle_cmd
from .isolation import isolation_cmd
from .jobs import job_monitor
from .multi import multi_connection, simple_multi_connection
from .run import run_cmd
from .sandbox import sandbox


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="test-rig")
@click.pass_context
def main(ctx: click.Context) -> None:
    """test-rig: test TiDB, MySQL and MariaDB servers — connections, concurrency, isolation, resilience."""
    # Everything printed passes the same redaction as logs and reports: a user handler's error
    # message holding the password is masked on the console too.
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)

    # SIGTERM outside the event loop (loading config, printing) stops like Ctrl-C does; run_async
    # handles it inside the loop.
    previous: Any = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)

    def restore() -> None:
        sys.stdout, sys.stderr = out, err
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)

    ctx.call_on_close(restore)


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated()


for _command in (basic, simple_multi_connection, multi_connection, run_cmd, bench, isolation_cmd, job_monitor,
                 gen_data, elle_cmd, check_cmd, report_cmd, config_gen, show_config, sandbox):
    main.add_command(_command)

__all__ = ["build_environment", "common_options", "guarded", "main"]
