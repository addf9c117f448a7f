"""AppConfig and its sources (defaults < file < environment < command line), config extensions, the options a
command's user typed read as the command-line source (options_layer), and config-gen's complete file
(write_config_file).

Each source yields a nested dict; pydantic-settings merges and validates them. We keep the layers
apart as well so that a validation error can name the source that supplied the bad value
("environment variable TIDB_TEST_ROWS", "file tidb_config.toml") and `show-config --sources`
can say which source won for every key.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from test_rig.errors import ConfigError, UsageError

DEFAULT_FILES = ("tidb_config.json", "tidb_config.toml")
MASK = "********"

#: Why a host such as USER:PASSWORD@HOST:PORT is refused rather than masked: the value would have to
#: be split and masked in every message, log and report that might echo it, and one miss leaks the
#: password; refusing it at the door, without repeating it, leaks nothing.
CREDENTIALS_IN_HOST = ("holds a user or password before '@'; give only HOST:PORT there, the user with -u/--user "
                       "and the password with --password, TIDB_PASSWORD or the prompt")

_HOST_RE = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<name>[^:\s\[\]]+)):(?P<port>\d{1,5})$")


def split_host(value: str) -> tuple[str, int]:
    """Split `host:port` (or `[v6]:port`); raise ValueError with what is expected. A value holding
    `USER:PASSWORD@` is refused without being repeated: what precedes the '@' may be a password."""
    if "@" in value:
        raise ValueError(CREDENTIALS_IN_HOST)
    m = _HOST_RE.match(value.strip())
    if not m:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:4000, got {value!r}")
    port = int(m["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    return (m["v6"] or m["name"]), port


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_session_var(item: str) -> tuple[str, SessionValue]:
    """`NAME=VALUE` from the command line; integers and decimals become numbers (the server refuses
    '5' for a numeric variable), anything else stays text."""
    name, sep, raw = item.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not _IDENT.fullmatch(name):
        raise ConfigError(f"--session-var {item!r} is not NAME=VALUE with a plain variable name; write e.g. "
                          "--session-var innodb_snapshot_isolation=ON.")
    for number in (int, float):
        try:
            return name, number(raw)
        except ValueError:
            continue
    return name, raw


class _Section(BaseModel):
    # No infinite or NaN number: `timeout_secs = 1e400` (inf) would pass `gt=0` and mean "wait forever".
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


SslMode = Literal["disabled", "preferred", "required", "verify-ca", "verify-identity"]
SessionValue = bool | int | float | str


class DatabaseConfig(_Section):
    host: str = "localhost:4000"
    username: str = "root"
    password: SecretStr | None = None
    database: str = "test"
    pool_size: int = Field(default=5, ge=1, le=100_000)
    timeout_secs: float = Field(default=30, gt=0)
    ssl_mode: SslMode = "disabled"
    ssl_ca: str | None = None
    ssl_cert: str | None = None
    ssl_key: str | None = None

    @field_validator("host")
    @classmethod
    def _valid_host(cls, v: str) -> str:
        split_host(v)
        return v.strip()

    @property
    def host_name(self) -> str:
        return split_host(self.host)[0]

    @property
    def port(self) -> int:
        return split_host(self.host)[1]

    def password_value(self) -> str:
        return self.password.get_secret_value() if self.password is not None else ""


class LoggingConfig(_Section):
    level: Literal["debug", "info", "warn", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"
    file: str | None = None
    console: bool = True

    @field_validator("level", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v


class TestConfig(_Section):
    __test__ = False  # not a pytest class
    rows: int = Field(default=10, ge=1, le=10_000_000)
    timeout_secs: float = Field(default=60, gt=0)
    verbose: bool = False


class MonitorConfig(_Section):
    # inf passes here: job-monitor checks its durations itself (jobs.options._seconds), with a sentence that names
    # the option or variable they came from and the range it takes. (NaN is still refused here, by `gt=0`.)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=True)
    monitor_duration: float = Field(default=300, gt=0)
    update_interval: float = Field(default=5, gt=0)
    show_details: bool = True


class IsolationConfig(_Section):
    isolation_level: Literal["all", "read-uncommitted", "read-committed", "repeatable-read",
                             "serializable"] = "all"
    concurrent_connections: int = Field(default=2, ge=2, le=1000)
    txn_mode: Literal["pessimistic", "optimistic", "both"] = "both"
    block_window_ms: float = Field(default=150, gt=0)
    lock_wait_timeout_secs: int = Field(default=2, ge=1)


class ConnectionTarget(_Section):
    """One entry of `connections`: a named server, falling back to `database` for what it omits."""

    name: str
    host: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    database: str | None = None

    @field_validator("host")
    @classmethod
    def _valid_host(cls, v: str | None) -> str | None:
        if v is not None:
            split_host(v)
        return v


class _LayerSource(PydanticBaseSettingsSource):
    """A settings source that returns one prepared nested dict."""

    def __init__(self, settings_cls: type[BaseSettings], data: Mapping[str, Any]) -> None:
        super().__init__(settings_cls)
        self._data = dict(data)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return self._data


#: The layers the AppConfig being built reads (pydantic-settings asks the class, not the instance, for its
#: sources). A context variable, not a class attribute: two threads or tasks loading configurations at once each
#: see their own.
_LAYERS: ContextVar[tuple[Mapping[str, Any], ...]] = ContextVar("config_layers", default=())


class AppConfig(BaseSettings):
    """The whole configuration. Build it with `load_config`, which applies every source."""

    model_config = SettingsConfigDict(extra="forbid", validate_assignment=True)
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    test: TestConfig = TestConfig()
    monitor: MonitorConfig = MonitorConfig()
    isolation: IsolationConfig = IsolationConfig()
    session_variables: dict[str, SessionValue] = Field(default_factory=dict)
    connections: list[ConnectionTarget] = Field(default_factory=list)


    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest priority first: command line, environment, file. Defaults come from the fields.
        return tuple(_LayerSource(settings_cls, layer) for layer in _LAYERS.get())

    @field_validator("session_variables")
    @classmethod
    def _valid_names(cls, v: dict[str, SessionValue]) -> dict[str, SessionValue]:
        for name in v:
            if not _IDENT.fullmatch(name):
                raise ValueError(f"session variable name {name!r} is not a plain identifier")
        return v

    def public_dict(self) -> dict[str, Any]:
        """The configuration as plain data with every password masked."""
        data = self.model_dump(mode="json")
        if self.database.password is not None:
            data["database"]["password"] = MASK
        for i, target in enumerate(self.connections):
            if target.password is not None:
                data["connections"][i]["password"] = MASK
        return data

    def file_dict(self) -> dict[str, Any]:
        """The configuration as it should be written to a file (password kept as given)."""
        data = self.model_dump(mode="json", exclude_none=True)
        if self.database.password is not None:
            data["database"]["password"] = self.database.password.get_secret_value()
        for i, target in enumerate(self.connections):
            if target.password is not None:
                data["connections"][i]["password"] = target.password.get_secret_value()
        return data


#: Environment variable → dotted config key. TIDB_USER is checked before TIDB_USERNAME.
ENV_VARS: dict[str, str] = {
    "TIDB_HOST": "database.host",
    "TIDB_USER": "database.username",
    "TIDB_USERNAME": "database.username",
    "TIDB_PASSWORD": "database.password",
    "TIDB_DATABASE": "database.database",
    "TIDB_SSL_MODE": "database.ssl_mode",
    "TIDB_SSL_CA": "database.ssl_ca",
    "TIDB_LOG_LEVEL": "logging.level",
    "TIDB_TEST_ROWS": "test.rows",
    "TIDB_MONITOR_DURATION": "monitor.monitor_duration",
    "TIDB_UPDATE_INTERVAL": "monitor.update_interval",
    "TIDB_SHOW_DETAILS": "monitor.show_details",
}


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and key != "session_variables":
            out.update(_flatten(value, path + "."))
        else:
            out[path] = value
    return out


@dataclass
class Layer:
    """One source of configuration: its name for messages, its nested values, and how each key
    was named in that source (an env var name, an option flag)."""

    name: str
    values: dict[str, Any] = field(default_factory=dict)
    key_names: dict[str, str] = field(default_factory=dict)

    def describe(self, dotted: str) -> str:
        named = self.key_names.get(dotted)
        return named if named else f"{self.name}, key {dotted}"


def env_layer(environ: Mapping[str, str]) -> Layer:
    layer = Layer("environment")
    for var, dotted in ENV_VARS.items():
        if var in environ and dotted not in layer.key_names:
            set_path(layer.values, dotted, environ[var])
            layer.key_names[dotted] = f"environment variable {var}"
    return layer


def find_config_file(explicit: str | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(
                f"Configuration file {explicit} does not exist; check the path given to -c/--config "
                "or create one with `test-rig config-gen`."
            )
        return path
    base = cwd or Path.cwd()
    present = [base / name for name in DEFAULT_FILES if (base / name).is_file()]
    if len(present) > 1:
        raise ConfigError(f"Both {present[0].name} and {present[1].name} are in {base} and test-rig will not guess "
                          "which you meant; pick one with -c/--config or remove the other.")
    return present[0] if present else None


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse a JSON or TOML config file, chosen by extension. Raises ConfigError naming the line."""
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"Configuration file {path} cannot be read ({e}); check its permissions "
                          "and that it is UTF-8 text.") from e
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError(f"Configuration file {path} is not valid JSON: {e.msg} at line {e.lineno}, "
                              f"column {e.colno}; fix the syntax and run again.") from e
    elif suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"Configuration file {path} is not valid TOML: {e}; fix the syntax "
                              "and run again.") from e
    else:
        raise ConfigError(f"Configuration file {path} has extension {suffix or '(none)'!r}; "
                          "use a .json or .toml file.")
    if not isinstance(data, dict):
        raise ConfigError(f"Configuration file {path} must hold an object/table at the top level, "
                          f"not {type(data).__name__}; see `test-rig config-gen` for the layout.")
    return data


def _expected(err: Mapping[str, Any]) -> str:
    msg = str(err.get("msg", "invalid value"))
    msg = msg.removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        return "is not a known setting"
    if err.get("type") == "missing":
        return "is required"
    msg = re.sub(r" or instance of \w+", "", msg)  # a class name says nothing to a person: "a valid dictionary"
    return msg[0].lower() + msg[1:] if msg else msg


@dataclass
class LoadedConfig:
    config: AppConfig
    path: Path | None
    layers: list[Layer]

    def sources(self) -> dict[str, str]:
        """For every key some source set, the source that won."""
        out: dict[str, str] = {}
        for layer in reversed(self.layers):  # lowest priority first, later ones overwrite
            for dotted in _flatten(layer.values):
                out[dotted] = layer.describe(dotted)
        return dict(sorted(out.items()))


def load_config(
    config_file: str | None = None,
    cli_values: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    cli_names: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> LoadedConfig:
    """Build the effective AppConfig: command line > environment > file > defaults.

    `cli_values` holds only what the user typed (dotted keys → values); `cli_names` maps dotted
    keys to the option that set them, for messages. Raises ConfigError (exit status 2) with one
    paragraph naming the source, the key and what was expected.
    """
    environ = os.environ if environ is None else environ
    path = find_config_file(config_file, cwd)
    cli = Layer("command line")
    for dotted, value in (cli_values or {}).items():
        set_path(cli.values, dotted, value)
        cli.key_names[dotted] = f"option {(cli_names or {}).get(dotted, dotted)}"
    layers = [cli, env_layer(environ)]
    if path is not None:
        layers.append(Layer(f"file {path}", read_config_file(path)))
    for layer in layers:
        _refuse_credentials_in_hosts(layer)
    token = _LAYERS.set(tuple(layer.values for layer in layers))
    try:
        config = AppConfig()
    except ValidationError as e:
        raise ConfigError(_describe_validation(e, layers)) from None
    finally:
        _LAYERS.reset(token)
    return LoadedConfig(config, path, layers)


def _refuse_credentials_in_hosts(layer: Layer) -> None:
    """Refuse, naming only where it was set, a host (database.host, or a connections entry's) that
    carries USER:PASSWORD@. Raises ConfigError."""
    database = layer.values.get("database")
    found: list[str] = []
    if isinstance(database, Mapping) and "@" in str(database.get("host") or ""):
        found.append(layer.describe("database.host"))
    connections = layer.values.get("connections")
    for i, entry in enumerate(connections if isinstance(connections, list) else []):
        if isinstance(entry, Mapping) and "@" in str(entry.get("host") or ""):
            found.append(f"{layer.name}, key connections[{i}].host")
    if found:
        raise ConfigError(f"{found[0][0].upper()}{found[0][1:]} {CREDENTIALS_IN_HOST}.")


#: The type names pydantic puts at the end of an error's location for each branch of a union it tried.
_UNION_BRANCHES = {"bool": "a boolean (true or false)", "int": "a whole number", "float": "a number",
                   "str": "a string", "list": "a list", "dict": "a table"}


def _spelled(value: Any) -> str:
    """A value as a person wrote it in a JSON or TOML file, not as Python shows it: `null`, `true`, `false`
    (never None, True, False); text in quotes ('many'), as pydantic quotes the choices it names."""
    if isinstance(value, str):
        return "'" + value.replace("'", "\\'") + "'"
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def _describe_validation(e: ValidationError, layers: list[Layer]) -> str:
    """Every problem pydantic found, in words: where it was set, the key as the user writes it, what it should
    be, and what was given (never a password, nor a host carrying one). A value a union rejected on each of
    its branches is one problem, naming every kind it may be."""
    found: dict[tuple[str, ...], Mapping[str, Any] | list[str]] = {}  # location → its error, or a union's kinds
    for err in e.errors():
        loc = tuple(str(p) for p in err["loc"])
        if len(loc) > 1 and loc[-1] in _UNION_BRANCHES:
            kinds = found.setdefault(loc[:-1], [])
            if isinstance(kinds, list):
                kinds.append(_UNION_BRANCHES[loc[-1]])
            continue
        found[loc] = err
    problems = []
    for loc, what in found.items():
        if isinstance(what, list):
            kinds = what
            problems.append(_problem(list(loc), {}, layers, "should be " + (
                ", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0])))
        else:
            problems.append(_problem(list(loc), what, layers, _expected(what)))
    head = "Invalid configuration: " + "; ".join(problems)
    return head + ". Fix the value(s) named above and run again (`test-rig config-gen` writes a valid file)."


def _problem(loc: list[str], err: Mapping[str, Any], layers: list[Layer], expected: str) -> str:
    dotted = ".".join(loc)
    key = "".join(f"[{p}]" if p.isdecimal() else f".{p}" for p in loc).lstrip(".")  # connections[0].name
    shown = ""
    if "password" not in dotted and err.get("type") != "extra_forbidden" and "input" in err \
            and "@" not in str(err["input"]):
        value = err["input"]
        if not isinstance(value, dict | list) and repr(value) not in expected and _spelled(value) not in expected:
            shown = f" (got {_spelled(value)})"
    return f"{_who_set(dotted, layers)}: {key} {expected}{shown}"


def _who_set(dotted: str, layers: list[Layer]) -> str:
    for layer in layers:
        flat = _flatten(layer.values)
        for key in flat:
            if key == dotted or dotted.startswith(key + ".") or key.startswith(dotted + "."):
                return layer.describe(key)
    # List items and whole sections: find the deepest prefix someone set.
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        for layer in layers:
            if any(k == prefix or k.startswith(prefix + ".") for k in _flatten(layer.values)):
                return layer.name
    return "defaults"


# --------------------------------------------------------------------------- config extensions


@runtime_checkable
class ConfigExtension(Protocol):
    """Adds test-specific CLI options and maps them into the configuration.

    `cli_options()` returns click options (each default must be None, so that an option the user
    did not give never overrides env or file); `build_config(params)` returns dotted keys → values
    for the options that were given.
    """

    def get_extension_name(self) -> str: ...
    def get_help_text(self) -> str: ...
    def cli_options(self) -> list[Any]: ...
    def build_config(self, params: Mapping[str, Any]) -> dict[str, Any]: ...


class ExtensionRegistry:
    """The registered config extensions: explicit registrations plus entry points.

    The program's, not a run's (so not a field of the Environment, unlike the redactor): an extension adds
    options to the commands, which click builds once per process when the CLI is imported, and its
    `build_config` maps those options into the configuration an Environment is then made from. A run's own
    copy could only disagree with the parser it was given. Entry points are the installed distribution's;
    `register_config_extension` is for a program that embeds test-rig, before it imports the CLI."""

    GROUP = "test_rig.config_extensions"

    def __init__(self) -> None:
        self._explicit: list[ConfigExtension] = []
        #: the installed entry points' extensions, loaded once: the installed distributions do not change while
        #: the program runs, and each command's options and configuration asked for them again
        self._installed: list[ConfigExtension] | None = None

    def register(self, ext: ConfigExtension) -> None:
        if not isinstance(ext, ConfigExtension):
            raise TypeError(f"{ext!r} does not implement ConfigExtension")
        if all(e.get_extension_name() != ext.get_extension_name() for e in self._explicit):
            self._explicit.append(ext)

    def all(self) -> list[ConfigExtension]:
        if self._installed is None:
            self._installed = self._load_installed()
        found = {ext.get_extension_name(): ext for ext in self._installed}
        for ext in self._explicit:
            found[ext.get_extension_name()] = ext
        return list(found.values())

    def _load_installed(self) -> list[ConfigExtension]:
        found: dict[str, ConfigExtension] = {}
        for ep in metadata.entry_points(group=self.GROUP):
            try:
                obj = ep.load()
                ext = obj() if isinstance(obj, type) else obj
            except Exception as e:  # a broken third-party extension must not take the CLI down
                import logging

                logging.getLogger(__name__).warning("config extension %s could not be loaded: %s",
                                                    ep.name, e)
                continue
            found[ext.get_extension_name()] = ext
        return list(found.values())


extensions = ExtensionRegistry()


def register_config_extension(ext: ConfigExtension) -> None:
    """Register a config extension explicitly (entry points are found without this)."""
    extensions.register(ext)


def extension_values(exts: Iterable[ConfigExtension], params: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for ext in exts:
        out.update(ext.build_config(params))
    return out


# --------------------------------------------------------------------------- the command line as a source

#: The options of the test commands that set configuration keys: parameter name → (dotted key, how the user
#: spells it). job-monitor's -t/--monitor-duration, --update-interval and --show-details are not among them:
#: jobs.options.plan weighs them against its import config, the command line first.
OPTION_KEYS: dict[str, tuple[str, str]] = {
    "host": ("database.host", "-H/--host"),
    "user": ("database.username", "-u/--user"),
    "database": ("database.database", "-d/--database"),
    "password": ("database.password", "--password"),
    "log_level": ("logging.level", "--log-level"),
    "log_file_path": ("logging.file", "--log-file-path"),
}
#: config-gen's own options for the same keys (the original's names).
FILE_OPTION_KEYS: dict[str, tuple[str, str]] = {
    "host": ("database.host", "--host"),
    "username": ("database.username", "--username"),
    "database": ("database.database", "--database"),
    "log_level": ("logging.level", "--log-level"),
}


def options_layer(typed: Mapping[str, Any], keys: Mapping[str, tuple[str, str]] = OPTION_KEYS
                  ) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration set by the options the user typed (`typed`: parameter name → value, only those given
    on the command line), through `keys` and the registered extensions: dotted key → value, and dotted key →
    the option that set it, for messages."""
    values = {keys[param][0]: value for param, value in typed.items() if param in keys}
    names = {keys[param][0]: keys[param][1] for param in typed if param in keys}
    exts = extensions.all()
    for param, value in typed.items():  # one at a time, so each key is named after the option that set it
        for dotted, mapped in extension_values(exts, {param: value}).items():
            values[dotted] = mapped
            names[dotted] = "--" + param.replace("_", "-")
    return values, names


def load_for_options(config_file: str | None, typed: Mapping[str, Any], *,
                     password: str | None = None) -> LoadedConfig:
    """The effective configuration of a command given the options `typed` (options_layer), the environment and
    `config_file` (else ./tidb_config.json or .toml); `password`: one the user was asked for. Raises ConfigError."""
    values, names = options_layer(typed)
    if password is not None:
        values["database.password"] = password
    return load_config(config_file, values, cli_names=names)


_FILE_FORMATS = {".json": "json", ".toml": "toml"}


def _config_file_path(output: str | None, fmt: str | None, *, force: bool) -> tuple[Path, str]:
    """Where config-gen writes (`output`, default tidb_config.FMT) and in which format (`fmt`, default: from the
    output's suffix, else json). Raises UsageError for every mismatch, before anything is written."""
    if output is None:
        fmt = fmt or "json"
        path = Path(f"tidb_config.{fmt}")
    else:
        path = Path(output)
        suffix_fmt = _FILE_FORMATS.get(path.suffix.lower())
        if suffix_fmt is None:
            raise UsageError(f"--output {output} must end in .json or .toml (the only formats test-rig reads); "
                             "rename it.")
        if fmt is not None and fmt != suffix_fmt:
            raise UsageError(f"--format {fmt} does not match --output {output}; use a .{fmt} name or "
                             f"--format {suffix_fmt}.")
        fmt = suffix_fmt
    if path.is_dir():
        raise UsageError(f"--output {path} is a directory; give a file name such as {path / 'tidb_config.json'}.")
    if not path.parent.is_dir():
        raise UsageError(f"The directory {path.parent} does not exist; create it first or choose another --output.")
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it or choose another --output.")
    return path, fmt


def write_config_file(output: str | None, fmt: str | None, typed: Mapping[str, Any], *, force: bool) -> Path:
    """Write a complete configuration file: the defaults with what config-gen's options `typed` set (by
    parameter name; FILE_OPTION_KEYS and the extensions'), neither the environment nor a file read, where and
    as _config_file_path says. Returns the path written. Raises UsageError (a name, place or format that cannot
    be used, a file that exists without `force`, a failed write) or ConfigError (a bad value), before writing."""
    path, fmt = _config_file_path(output, fmt, force=force)
    values, names = options_layer(typed, FILE_OPTION_KEYS)
    data = load_config(None, values, environ={}, cli_names=names, cwd=Path("/nonexistent")).config.file_dict()
    if fmt == "toml":
        import tomli_w

        text = tomli_w.dumps(data)
    else:
        text = json.dumps(data, indent=2) + "\n"
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"Could not write {path}: {e.strerror}; choose another --output.") from None
    return path


def shown(loaded: LoadedConfig, *, sources: bool) -> dict[str, Any]:
    """What show-config prints: the effective configuration, password masked; with `sources`, also the file read
    and which source set each key."""
    data = loaded.config.public_dict()
    return {"config": data, "config_file": str(loaded.path) if loaded.path else None,
            "sources": loaded.sources()} if sources else data


def written_lines(path: Path) -> list[str]:
    """What config-gen says after writing `path`: how to use it, and each extension's help."""
    return [f"Configuration saved to: {path}", "Use it with any test, for example:", f"  test-rig basic -c {path}",
            f"  test-rig isolation -c {path}", f"  test-rig show-config -c {path}",
            "Set the password with TIDB_PASSWORD or at the prompt rather than in the file.",
            *(f"extension {ext.get_extension_name()}: {ext.get_help_text()}" for ext in extensions.all())]

