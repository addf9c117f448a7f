"""The isolation test's config extension: --test-rows, --isolation-level, --concurrent-connections."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click


class IsolationConfigExtension:
    """Adds the original isolation test's options to config-gen and the isolation command."""

    def get_extension_name(self) -> str:
        return "isolation_test"

    def get_help_text(self) -> str:
        return "adds --test-rows, --isolation-level and --concurrent-connections for isolation testing"

    def cli_options(self) -> list[Any]:
        return [
            click.option("--test-rows", type=int, default=None,
                         help="Rows for the scaled lost-update and write-skew tests (test.rows)."),
            click.option("--isolation-level", default=None,
                         type=click.Choice(["all", "read-uncommitted", "read-committed", "repeatable-read",
                                            "serializable"]),
                         help="Isolation level to test (isolation.isolation_level; default all)."),
            click.option("--concurrent-connections", type=int, default=None,
                         help="Concurrent transactions in the scaled tests (isolation.concurrent_connections)."),
        ]

    def build_config(self, params: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if params.get("test_rows") is not None:
            out["test.rows"] = params["test_rows"]
        if params.get("isolation_level") is not None:
            out["isolation.isolation_level"] = params["isolation_level"]
        if params.get("concurrent_connections") is not None:
            out["isolation.concurrent_connections"] = params["concurrent_connections"]
        return out
