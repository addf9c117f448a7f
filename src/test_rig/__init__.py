"""test-rig: a framework and command-line tool for testing TiDB, MySQL and MariaDB.

The public API is re-exported here; nothing else lives in this module.
"""

from __future__ import annotations

__version__ = "0.1.0"

# Not `from typing import TYPE_CHECKING`: importing typing costs this package 25 ms, all of it before the console
# script can take over SIGINT and SIGTERM (startup.py), and a Ctrl-C in that time ended in a traceback with no
# report. mypy treats a TYPE_CHECKING constant as typing's.
TYPE_CHECKING = False

if TYPE_CHECKING:
    from typing import Any

    from test_rig.config import AppConfig, ConfigExtension, load_config, register_config_extension
    from test_rig.db import Connection, ServerInfo, Target, connect, quote_ident
    from test_rig.errors import (
        AuthenticationError,
        CircuitOpenError,
        ConfigError,
        DatabaseError,
        ErrorCategory,
        ErrorContext,
        QueryError,
        RecoveryStrategy,
        RetryExhaustedError,
        RigError,
        classify_error,
        get_recovery_strategy,
    )
    from test_rig.machine import MachineResult, State, StateContext, StateHandler, StateMachine
    from test_rig.resilience import (
        CircuitBreaker,
        CircuitBreakerConfig,
        CircuitState,
        ResilientConnectionManager,
        RetryConfig,
        create_circuit_breaker_config,
        create_db_circuit_breaker_config,
        create_db_retry_config,
        create_retry_config,
    )

#: name -> the module that defines it. The names are imported when first used (PEP 562), so that a command
#: such as `test-rig check` does not pay for loading the configuration system, the driver and the engine.
_SOURCES = {
    **dict.fromkeys(("AppConfig", "ConfigExtension", "load_config", "register_config_extension"), "config"),
    **dict.fromkeys(("Connection", "ServerInfo", "Target", "connect", "quote_ident"), "db"),
    **dict.fromkeys(("AuthenticationError", "CircuitOpenError", "ConfigError", "DatabaseError", "ErrorCategory",
                     "ErrorContext", "QueryError", "RecoveryStrategy", "RetryExhaustedError", "RigError",
                     "classify_error", "get_recovery_strategy"), "errors"),
    **dict.fromkeys(("MachineResult", "State", "StateContext", "StateHandler", "StateMachine"), "machine"),
    **dict.fromkeys(("CircuitBreaker", "CircuitBreakerConfig", "CircuitState", "ResilientConnectionManager",
                     "RetryConfig", "create_circuit_breaker_config", "create_db_circuit_breaker_config",
                     "create_db_retry_config", "create_retry_config"), "resilience"),
}


def __getattr__(name: str) -> Any:
    module = _SOURCES.get(name)
    if module is None:
        raise AttributeError(f"module 'test_rig' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


__all__ = [
    "AppConfig",
    "AuthenticationError",
    "CircuitBreaker",
    "CircuitBreakerConfig",
    "CircuitOpenError",
    "CircuitState",
    "ConfigError",
    "ConfigExtension",
    "Connection",
    "DatabaseError",
    "ErrorCategory",
    "ErrorContext",
    "MachineResult",
    "QueryError",
    "RecoveryStrategy",
    "ResilientConnectionManager",
    "RetryConfig",
    "RetryExhaustedError",
    "RigError",
    "ServerInfo",
    "State",
    "StateContext",
    "StateHandler",
    "StateMachine",
    "Target",
    "__version__",
    "classify_error",
    "connect",
    "create_circuit_breaker_config",
    "create_db_circuit_breaker_config",
    "create_db_retry_config",
    "create_retry_config",
    "get_recovery_strategy",
    "load_config",
    "quote_ident",
    "register_config_extension",
]
