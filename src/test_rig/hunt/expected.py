"""Which errors generated SQL may legitimately cause, per server kind: matched by code first, then by message.

An error that is not in the table is a finding of the errors oracle. Some messages are never expected whatever
their code: a Go runtime panic, "index out of range", a nil pointer — TiDB reports those as error 1105, which
also carries expected semantic errors, so 1105 is matched by message and an internal failure always wins.
A lost connection (2006, 2013) is a crash candidate, never expected."""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Messages that mean the server itself failed, whatever the code.
#: "interface conversion" is the Go runtime's own panic text for a failed type assertion (TiDB v8.4.0's planner
#: sends one as 1105: tests/regressions/hunt/errors/); it may go on with words an expected 1105 has ("cannot
#: convert"), so it is matched here, before the table.
INTERNAL = re.compile(r"runtime error|index out of range|nil pointer|invalid memory address|panic|"
                      r"unexpected|assertion|internal error|should not happen|slice bounds out of range|"
                      r"interface conversion", re.IGNORECASE)

#: Errors the generated statements can cause by the documented semantics, by code (None: any message).
_COMMON: dict[int, str | None] = {
    1048: None,  # column cannot be null (UPDATE ... SET c = NULL)
    1062: None,  # duplicate entry (UPDATE of a unique column)
    1064: r"hint|SET STATEMENT",  # a server without a hint syntax the dialect table asked for
    1176: None,  # key does not exist (an index hint after DROP INDEX)
    1242: None,  # subquery returns more than 1 row
    1264: None,  # out of range value (UPDATE in strict mode)
    1265: None,  # data truncated
    1267: None, 1270: None, 1271: None,  # illegal mix of collations
    1292: None,  # truncated incorrect value
    1366: None,  # incorrect value for column
    1365: None,  # division by 0 (strict mode in UPDATE)
    1406: None,  # data too long
    1690: None,  # value is out of range (BIGINT arithmetic, DOUBLE overflow)
    1441: None,  # datetime function field overflow
    1411: None,  # incorrect datetime value for function
    1918: None,  # encountered illegal value when converting
    1916: None,  # got overflow when converting (a CAST in an UPDATE's WHERE, strict mode)
    1260: None,  # row was cut by GROUP_CONCAT
    3636: None,  # recursive query aborted
    1172: None,  # result consisted of more than one row
    3024: None,  # maximum statement execution time exceeded (our own bound; TiDB, MySQL)
    1969: None,  # max_statement_time exceeded (MariaDB)
    1317: None,  # query execution was interrupted (the run's own stop)
}

_BY_KIND: dict[str, dict[int, str | None]] = {
    "tidb": {
        **_COMMON,
        # TiDB reports some semantic errors as 1105 with their own words; only these messages are expected.
        1105: r"^(?!.*(runtime error|index out of range|nil pointer|panic)).*"
              r"(out of range|overflow|truncated|Incorrect|cannot convert|is not supported|doesn't support|"
              r"not support|Unknown plan|hint)",  # never "Can't find column": a planner bug's classic words
        8120: None,  # TiDB: a statement's memory exceeded (a huge CROSS JOIN)
        8175: None,  # memory quota exceeded
    },
    "mariadb": {
        **_COMMON,
        1105: r"^$",  # MariaDB does not use 1105 for semantic errors: nothing is expected
        1235: r"LIMIT & IN/ALL/ANY/SOME subquery|This version of MariaDB doesn't yet support",
        1923: None,  # in_to_exists and materialization both off (a session switch and a plan variant together)
        4078: None,  # illegal parameter data types for operation
        1038: None,  # out of sort memory
        1114: None,  # the table is full (a temporary table)
    },
    "mysql": {
        **_COMMON,
        1235: r"This version of MySQL doesn't yet support",
        3065: None,
        1038: None,
    },
}


@dataclass(frozen=True)
class Judgement:
    expected: bool
    #: "error" (an unexpected error), "crash" (the connection was lost), or "" when expected
    kind: str
    reason: str


def classify(server_kind: str, code: int | None, message: str) -> Judgement:
    """Whether an error of generated SQL is expected on this server kind (code first, then message)."""
    if code in (2006, 2013, 2003) or (code is None and "lost connection" in message.lower()):
        return Judgement(False, "crash", f"the connection was lost ({code}): the server may have crashed")
    if INTERNAL.search(message):
        return Judgement(False, "error", f"an internal error ({code}: {message})")
    table = _BY_KIND.get(server_kind, _BY_KIND["mysql"])
    if code not in table:
        return Judgement(False, "error", f"error {code} is not one generated SQL can cause ({message})")
    pattern = table[code]
    if pattern is not None and not re.search(pattern, message, re.IGNORECASE):
        return Judgement(False, "error", f"error {code} with a message not expected ({message})")
    return Judgement(True, "", "")
