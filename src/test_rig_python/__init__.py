"""Compatibility with the original tool's Python API: PyStateHandler, PyStateContext, PyState.

Handlers written for the original run unchanged through `test-rig run`. `PyState`'s constructors
return state names, as they did; `PyState.error(msg)` returns "Error: msg".
"""

from __future__ import annotations

from test_rig.machine import StateContext, StateHandler

PyStateContext = StateContext


class PyStateHandler(StateHandler):
    """Base class for handlers in the original's style: enter/execute/exit with string states."""

    __abstract_handler__ = True  # only classes that set this in their own body are skipped by discovery


class PyState:
    """State names, as the original's static constructors returned them."""

    @staticmethod
    def initial() -> str:
        return "Initial"

    @staticmethod
    def parsing_config() -> str:
        return "ParsingConfig"

    @staticmethod
    def connecting() -> str:
        return "Connecting"

    @staticmethod
    def testing_connection() -> str:
        return "TestingConnection"

    @staticmethod
    def verifying_database() -> str:
        return "VerifyingDatabase"

    @staticmethod
    def getting_version() -> str:
        return "GettingVersion"

    @staticmethod
    def checking_import_jobs() -> str:
        return "CheckingImportJobs"

    @staticmethod
    def showing_import_job_details() -> str:
        return "ShowingImportJobDetails"

    @staticmethod
    def creating_table() -> str:
        return "CreatingTable"

    @staticmethod
    def populating_data() -> str:
        return "PopulatingData"

    @staticmethod
    def testing_isolation() -> str:
        return "TestingIsolation"

    @staticmethod
    def verifying_results() -> str:
        return "VerifyingResults"

    @staticmethod
    def completed() -> str:
        return "Completed"

    @staticmethod
    def error(message: str = "") -> str:
        return f"Error: {message}"

    @staticmethod
    def custom(name: str) -> str:
        return name


__all__ = ["PyState", "PyStateContext", "PyStateHandler"]
