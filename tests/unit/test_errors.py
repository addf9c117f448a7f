"""Classification by error code, for our errors and for driver exceptions as users catch them."""

from __future__ import annotations

import pytest

from test_rig import ErrorCategory, RecoveryStrategy, classify_error, get_recovery_strategy
from test_rig.errors import (
    AuthenticationError,
    ConfigError,
    ConnectionError_,
    DatabaseError,
    ErrorContext,
    QueryError,
    TimeoutError_,
    translate,
)

TRANSIENT = [2003, 2006, 2013, 2055, 1040, 1205, 1213, 1020, 8002, 8005, 8022, 8028, 9007,
             9001, 9002, 9003, 9004, 9005, 8252]
PERMANENT = [1044, 1045, 1049, 1064, 1146, 1142, 8001, 8004, 9006]


class DriverError(Exception):
    """Shaped like PyMySQL's and asyncmy's errors: args == (code, message)."""


@pytest.mark.parametrize("code", TRANSIENT)
def test_transient_codes(code: int) -> None:
    assert classify_error(QueryError("x", code=code)) is ErrorCategory.Transient
    assert classify_error(DriverError(code, "x")) is ErrorCategory.Transient


@pytest.mark.parametrize("code", PERMANENT)
def test_permanent_codes(code: int) -> None:
    assert classify_error(QueryError("x", code=code)) is ErrorCategory.Permanent
    assert classify_error(DriverError(code, "x")) is ErrorCategory.Permanent


def test_unknown_code_and_plain_exception() -> None:
    assert classify_error(QueryError("x", code=4242)) is ErrorCategory.Unknown
    assert classify_error(RuntimeError("boom")) is ErrorCategory.Unknown


def test_config_errors_are_permanent() -> None:
    assert classify_error(ConfigError("bad")) is ErrorCategory.Permanent


def test_lost_commit_is_indeterminate() -> None:
    err = translate(DriverError(2013, "Lost connection to MySQL server during query"), sql="COMMIT", is_write=True)
    assert isinstance(err, ConnectionError_)
    assert err.indeterminate is True
    assert classify_error(err) is ErrorCategory.Indeterminate
    assert get_recovery_strategy(ErrorCategory.Indeterminate) is RecoveryStrategy.FailFast


def test_lost_select_is_only_transient() -> None:
    err = translate(DriverError(2013, "Lost connection"), sql="SELECT 1")
    assert classify_error(err) is ErrorCategory.Transient


def test_recovery_strategies_as_in_the_original() -> None:
    assert get_recovery_strategy(ErrorCategory.Transient) is RecoveryStrategy.Retry
    assert get_recovery_strategy(ErrorCategory.Permanent) is RecoveryStrategy.FailFast
    assert get_recovery_strategy(ErrorCategory.Unknown) is RecoveryStrategy.RetryWithLimit


def test_translate_keeps_code_and_message() -> None:
    err = translate(DriverError(1045, "Access denied for user 'x'"))
    assert isinstance(err, AuthenticationError)
    assert (err.code, err.message) == (1045, "Access denied for user 'x'")
    assert str(err) == "(1045) Access denied for user 'x'"


def test_error_context_builder_has_no_password_field() -> None:
    ctx = (ErrorContext.builder("critical_query").host("h:1").database("d").user("u").attempt(3)
           .query("SELECT 1").with_metadata("shard", 7).build())
    data = ctx.to_dict()
    assert data["operation"] == "critical_query"
    assert data["attempt"] == 3
    assert data["query"] == "SELECT 1"
    assert data["additional"] == {"shard": "7"}
    assert data["duration_ms"] is not None and data["duration_ms"] >= 0
    assert "password" not in data


def test_database_error_to_dict() -> None:
    err = DatabaseError("deadlock", code=1213, sqlstate="40001")
    assert err.to_dict() == {"type": "DatabaseError", "message": "deadlock", "code": 1213, "sqlstate": "40001"}


@pytest.mark.parametrize("code", [1044, 1142, 1227])
def test_the_schema_privilege_codes_say_so_from_the_table(code: int) -> None:
    from test_rig.errors import lacks_schema_privilege

    assert lacks_schema_privilege(QueryError("denied", code=code))
    assert lacks_schema_privilege(DriverError(code, "denied"))


@pytest.mark.parametrize("code", [1045, 1049, 1213, 2003])
def test_other_codes_are_not_schema_privileges(code: int) -> None:
    from test_rig.errors import lacks_schema_privilege

    assert not lacks_schema_privilege(QueryError("x", code=code))


def test_the_unknown_codes_keep_their_limited_retries() -> None:
    # 1698 and 1227 are in the table for their meaning and hint; their retry class is what it was before.
    assert classify_error(QueryError("x", code=1698)) is ErrorCategory.Unknown
    assert classify_error(QueryError("x", code=1227)) is ErrorCategory.Unknown


@pytest.mark.parametrize(("err", "hint"), [
    (AuthenticationError("denied", code=1698),
     "Access denied: check the user name and password (-u/--user, --password or TIDB_PASSWORD)."),
    (QueryError("x", code=1049), "Unknown database shop: check -d/--database or create it first."),
    (ConnectionError_("refused", code=2013), "Cannot reach 127.0.0.1:9: check the host and port (-H HOST:PORT), that "
                                             "the server is running and that no firewall is in the way."),
    (TimeoutError_("no handshake"), "Cannot reach 127.0.0.1:9: check the host and port (-H HOST:PORT), that the server "
                                  "is running and that no firewall is in the way."),
    (QueryError("x", code=1064), None),
])
def test_the_basic_flows_hints_come_from_the_table(err: Exception, hint: str | None) -> None:
    from test_rig.db import Target
    from test_rig.flows.basic import hint_for

    assert hint_for(err, Target("t", "127.0.0.1", 9, "root", "", "shop", 1.0)) == hint


def test_errors_by_code_are_said_with_the_servers_first_message_for_each() -> None:
    from test_rig.errors import by_code_text

    assert by_code_text({"2013": 3, "1142": 8}) == "1142 ×8; 2013 ×3"
    assert by_code_text({"2013": 3, "1142": 8}, {"1142": "SELECT command denied to user 'ro'@'localhost'"}) == (
        "1142 ×8: SELECT command denied to user 'ro'@'localhost'; 2013 ×3")
    assert by_code_text({}) == ""
