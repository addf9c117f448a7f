"""Configuration: sources and their priority, validation errors, config-gen, extensions, secrets."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from test_rig.cli import main
from test_rig.config import AppConfig, load_config, parse_session_var, split_host
from test_rig.errors import ConfigError

# Every field that has an environment variable: (env var, dotted key, file value, env value, cli option, cli value,
# expected type conversion of the cli value)
ENV_FIELDS: list[tuple[str, str, Any, str, str | None, str | None, Any]] = [
    ("TIDB_HOST", "database.host", "file-host:4000", "env-host:4001", "-H", "cli-host:4002", "cli-host:4002"),
    ("TIDB_USER", "database.username", "file-user", "env-user", "-u", "cli-user", "cli-user"),
    ("TIDB_USERNAME", "database.username", "file-user", "env-user2", "-u", "cli-user", "cli-user"),
    ("TIDB_PASSWORD", "database.password", "file-pw-1234", "env-pw-5678", "--password", "cli-pw-9012", "cli-pw-9012"),
    ("TIDB_DATABASE", "database.database", "filedb", "envdb", "-d", "clidb", "clidb"),
    ("TIDB_LOG_LEVEL", "logging.level", "error", "debug", "--log-level", "warn", "warn"),
    ("TIDB_TEST_ROWS", "test.rows", 11, "22", "--test-rows", "33", 33),
    ("TIDB_MONITOR_DURATION", "monitor.monitor_duration", 100, "200", None, None, None),
    ("TIDB_UPDATE_INTERVAL", "monitor.update_interval", 1, "2", None, None, None),
    ("TIDB_SHOW_DETAILS", "monitor.show_details", False, "1", None, None, None),
    ("TIDB_SSL_MODE", "database.ssl_mode", "required", "verify-ca", None, None, None),
    ("TIDB_SSL_CA", "database.ssl_ca", "/file/ca.pem", "/env/ca.pem", None, None, None),
]


def _get(cfg: AppConfig, dotted: str) -> Any:
    obj: Any = cfg
    for part in dotted.split("."):
        obj = getattr(obj, part)
    if hasattr(obj, "get_secret_value"):
        return obj.get_secret_value()
    return obj


def _write(path: Path, dotted: str, value: Any) -> Path:
    section, key = dotted.split(".")
    path.write_text(json.dumps({section: {key: value}}))
    return path


def _show(args: list[str], env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["show-config", *args], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize(("var", "dotted", "file_value", "env_value", "flag", "cli_value", "cli_expected"), ENV_FIELDS,
                         ids=[f[0] for f in ENV_FIELDS])
def test_priority_cli_over_env_over_file_over_default(tmp_path: Path, var: str, dotted: str, file_value: Any,
                                                      env_value: str, flag: str | None, cli_value: str | None,
                                                      cli_expected: Any) -> None:
    default = _get(AppConfig(), dotted)
    cfg_file = _write(tmp_path / "c.json", dotted, file_value)
    field_type = type(_get(load_config(str(cfg_file), environ={}).config, dotted))

    assert _get(load_config(None, environ={}, cwd=tmp_path).config, dotted) == default
    assert _get(load_config(str(cfg_file), environ={}).config, dotted) == file_value
    assert _get(load_config(str(cfg_file), environ={var: env_value}).config, dotted) == field_type(env_value)
    if flag is None:
        return
    # Through the real command line: the CLI value wins; an option not given never overrides env or file.
    env = {var: env_value}
    shown = _show(["-c", str(cfg_file), flag, cli_value or ""], env)
    section, key = dotted.split(".")
    expected_shown = "********" if key == "password" else cli_expected
    assert shown[section][key] == expected_shown
    if key == "password":
        values = {dotted: cli_value}
        assert _get(load_config(str(cfg_file), values, environ=env).config, dotted) == cli_value
    shown_without_flag = _show(["-c", str(cfg_file)], env)
    expected_env = "********" if key == "password" else field_type(env_value)
    assert shown_without_flag[section][key] == expected_env


def test_tidb_user_wins_over_tidb_username() -> None:
    cfg = load_config(None, environ={"TIDB_USER": "a", "TIDB_USERNAME": "b"}, cwd=Path("/nonexistent")).config
    assert cfg.database.username == "a"


def test_default_file_is_found_in_working_directory(tmp_path: Path) -> None:
    (tmp_path / "tidb_config.toml").write_text('[database]\nhost = "toml-host:1234"\n')
    loaded = load_config(None, environ={}, cwd=tmp_path)
    assert loaded.config.database.host == "toml-host:1234"
    assert loaded.path == tmp_path / "tidb_config.toml"


def test_sources_name_the_winner(tmp_path: Path) -> None:
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('[database]\nhost = "f:1"\ndatabase = "fdb"\n')
    loaded = load_config(str(cfg_file), {"database.database": "cdb"}, environ={"TIDB_HOST": "e:2"},
                         cli_names={"database.database": "-d/--database"})
    sources = loaded.sources()
    assert sources["database.host"] == "environment variable TIDB_HOST"
    assert sources["database.database"] == "option -d/--database"


# Twenty-two malformed configurations: (file name, content, words the message must contain)
MALFORMED: list[tuple[str, str, list[str]]] = [
    ("a.json", '{"database": {"host": "h:1"', ["not valid JSON", "line 1"]),
    ("b.json", '{"database": {"host": "h:1",}}', ["not valid JSON"]),
    ("c.toml", '[database\nhost = "h:1"', ["not valid TOML"]),
    ("d.toml", 'database.host = h:1', ["not valid TOML"]),
    ("e.json", '[1, 2, 3]', ["top level", "list"]),
    ("f.json", '{"database": {"pool_size": "many"}}', ["database.pool_size", "integer", "'many'"]),
    ("g.json", '{"database": {"pool_size": -3}}', ["database.pool_size", "greater than or equal to 1", "-3"]),
    ("h.json", '{"database": {"timeout_secs": -1}}', ["database.timeout_secs", "greater than 0"]),
    ("i.json", '{"database": {"host": "localhost"}}', ["database.host", "HOST:PORT"]),
    ("j.json", '{"database": {"host": "localhost:99999"}}', ["database.host", "between 1 and 65535"]),
    ("k.json", '{"database": {"host": "localhost:abc"}}', ["database.host", "HOST:PORT"]),
    ("l.json", '{"database": {"hostname": "x:1"}}', ["database.hostname", "not a known setting"]),
    ("m.json", '{"databse": {"host": "x:1"}}', ["databse", "not a known setting"]),
    ("n.toml", '[logging]\nlevel = "loud"\n', ["logging.level", "'loud'"]),
    ("o.toml", '[logging]\nformat = "xml"\n', ["logging.format", "'xml'"]),
    ("p.toml", '[test]\nrows = 0\n', ["test.rows", "greater than or equal to 1"]),
    ("q.toml", '[test]\nverbose = "perhaps"\n', ["test.verbose", "boolean"]),
    ("r.toml", '[database]\nssl_mode = "sometimes"\n', ["database.ssl_mode", "'sometimes'"]),
    ("s.toml", '[session_variables]\n"bad name" = 1\n', ["session_variables", "not a plain identifier"]),
    ("t.yaml", 'database: {}', ["extension", ".json or .toml"]),
    ("u.json", '{"database": "localhost:4000"}', ["database", "valid dictionary"]),
    ("v.toml", '[monitor]\nupdate_interval = -5\n', ["monitor.update_interval", "greater than 0"]),
    ("w.json", '{"database": {"timeout_secs": 1e400}}', ["database.timeout_secs", "finite number"]),
    ("x.toml", '[test]\ntimeout_secs = nan\n', ["test.timeout_secs", "finite number"]),
]


@pytest.mark.parametrize(("name", "content", "words"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_config_gives_exit_2_and_a_clear_message(tmp_path: Path, name: str, content: str,
                                                           words: list[str]) -> None:
    path = tmp_path / name
    path.write_text(content)
    result = CliRunner().invoke(main, ["basic", "-c", str(path), "--no-password-prompt"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert str(path) in result.output
    for word in words:
        assert word in result.output, (word, result.output)


def test_missing_config_file(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["basic", "-c", str(tmp_path / "nope.json"), "--no-password-prompt"])
    assert result.exit_code == 2
    assert result.output == f"error: Configuration file {tmp_path / 'nope.json'} does not exist; check the " \
        "path given to -c/--config or create one with `test-rig config-gen`.\n"


def test_bad_env_value_names_the_variable() -> None:
    result = CliRunner().invoke(main, ["show-config"], env={"TIDB_TEST_ROWS": "lots"})
    assert result.exit_code == 2
    assert "environment variable TIDB_TEST_ROWS: test.rows" in result.output


def test_bad_cli_host_names_the_option() -> None:
    result = CliRunner().invoke(main, ["show-config", "-H", "nohostport"])
    assert result.exit_code == 2
    assert "option -H/--host: database.host expected HOST:PORT" in result.output


def test_bad_extension_option_names_the_option() -> None:
    result = CliRunner().invoke(main, ["show-config", "--test-rows", "0"])
    assert result.exit_code == 2
    assert "option --test-rows: test.rows input should be greater than or equal to 1 (got 0)" in result.output


def test_wrong_password_type_is_not_echoed(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"database": {"password": 123456789}}')
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    assert "database.password" in info.value.message
    assert "123456789" not in info.value.message


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_config_gen_round_trip(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"gen.{fmt}"
    result = CliRunner().invoke(main, ["config-gen", "--format", fmt, "--output", str(out), "--host", "db.example:4000",
                                       "--username", "alice", "--database", "shop", "--log-level", "debug",
                                       "--test-rows", "25"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"Configuration saved to: {out}"
    loaded = load_config(str(out), environ={}).config
    expected = load_config(None, {"database.host": "db.example:4000", "database.username": "alice",
                                  "database.database": "shop", "logging.level": "debug", "test.rows": 25},
                           environ={}, cwd=Path("/nonexistent")).config
    assert loaded.model_dump() == expected.model_dump()
    assert loaded.test.rows == 25


@pytest.mark.parametrize("command", ["config-gen", "show-config"])
def test_a_bad_extension_value_is_named_after_its_option(tmp_path: Path, command: str) -> None:
    """config-gen named it by its dotted key (`option isolation.concurrent_connections`) where every other command
    names the option; both now read the command line through config.options_layer."""
    result = CliRunner().invoke(main, [command, "--concurrent-connections", "1"]
                                + (["-o", str(tmp_path / "x.json")] if command == "config-gen" else []))
    assert result.exit_code == 2
    assert ("error: Invalid configuration: option --concurrent-connections: isolation.concurrent_connections input "
            "should be greater than or equal to 2 (got 1).") in result.output
    assert not (tmp_path / "x.json").exists()


def test_options_layer_maps_typed_options_and_names_each() -> None:
    from test_rig.config import FILE_OPTION_KEYS, options_layer

    assert options_layer({"host": "h:1", "user": "bob", "test_rows": 5, "verbose": True}) == (
        {"database.host": "h:1", "database.username": "bob", "test.rows": 5},
        {"database.host": "-H/--host", "database.username": "-u/--user", "test.rows": "--test-rows"})
    assert options_layer({"username": "bob", "user": "x"}, FILE_OPTION_KEYS) == (
        {"database.username": "bob"}, {"database.username": "--username"})


def test_write_config_file_reads_neither_environment_nor_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_rig.config import write_config_file

    monkeypatch.setenv("TIDB_HOST", "env-host:4001")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tidb_config.toml").write_text('[database]\nusername = "from-file"\n')
    path = write_config_file(None, None, {"database": "shop"}, force=False)
    assert path == Path("tidb_config.json")
    data = json.loads((tmp_path / "tidb_config.json").read_text())
    assert (data["database"]["host"], data["database"]["username"], data["database"]["database"]) == (
        "localhost:4000", "root", "shop")


def test_config_gen_shows_extension_options() -> None:
    result = CliRunner().invoke(main, ["config-gen", "--help"])
    assert result.exit_code == 0
    for opt in ("--test-rows", "--isolation-level", "--concurrent-connections"):
        assert opt in result.output


#: A config extension a user would write, registered explicitly in the child process below.
EXTENSION_SOURCE = '''
import click


class RetriesExtension:
    def get_extension_name(self):
        return "retries_example"

    def get_help_text(self):
        return "adds --example-rows"

    def cli_options(self):
        return [click.option("--example-rows", type=int, default=None)]

    def build_config(self, params):
        return {"test.rows": params["example_rows"]} if params.get("example_rows") is not None else {}
'''


def test_explicitly_registered_extension_adds_options(tmp_path: Path) -> None:
    """Registration is global and options are attached when the commands are built, so this runs in a
    process of its own: no later test sees the extension."""
    import subprocess
    import sys

    out = tmp_path / "x.json"
    (tmp_path / "user_extension.py").write_text(EXTENSION_SOURCE)
    script = textwrap.dedent(f'''
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from user_extension import RetriesExtension
        from test_rig.config import register_config_extension
        register_config_extension(RetriesExtension())
        from test_rig.cli import main
        main(["config-gen", "-o", {str(out)!r}, "--example-rows", "7"])
    ''')
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(out.read_text())["test"]["rows"] == 7
    assert "extension retries_example: adds --example-rows" in result.stdout
    from test_rig.config import extensions

    assert "retries_example" not in [e.get_extension_name() for e in extensions.all()]


def test_password_masked_in_show_config(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["show-config", "--password", "hunter2-secret"])
    assert result.exit_code == 0
    assert "hunter2-secret" not in result.output
    assert json.loads(result.output)["database"]["password"] == "********"


@pytest.mark.parametrize(("item", "expected"), [("innodb_lock_wait_timeout=5", ("innodb_lock_wait_timeout", 5)),
                                                ("long_query_time = 0.5", ("long_query_time", 0.5)),
                                                ("innodb_snapshot_isolation=ON", ("innodb_snapshot_isolation", "ON")),
                                                ("sql_mode=", ("sql_mode", ""))])
def test_parse_session_var(item: str, expected: tuple[str, object]) -> None:
    assert parse_session_var(item) == expected


@pytest.mark.parametrize("item", ["novalue", "=1", "a b=1", "x;drop=1"])
def test_parse_session_var_rejects(item: str) -> None:
    with pytest.raises(ConfigError):
        parse_session_var(item)


@pytest.mark.parametrize(("value", "expected"), [("h:1", ("h", 1)), ("[::1]:3306", ("::1", 3306)),
                                                 ("10.0.0.1:65535", ("10.0.0.1", 65535))])
def test_split_host(value: str, expected: tuple[str, int]) -> None:
    assert split_host(value) == expected


@pytest.mark.parametrize("value", ["h", "h:", "h:0", "h:65536", ":1", "h:1:2", "h 1:2"])
def test_split_host_rejects(value: str) -> None:
    with pytest.raises(ValueError):
        split_host(value)


def test_installed_extensions_are_loaded_once_and_registered_ones_still_count(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each command's options and configuration ask the registry; the installed distributions' entry points are
    read once per registry, and one registered later is still listed."""
    from importlib import metadata

    from test_rig.config import ExtensionRegistry

    calls: list[str] = []
    real = metadata.entry_points

    def counting(**kwargs: Any) -> Any:
        calls.append(kwargs.get("group", ""))
        return real(**kwargs)

    monkeypatch.setattr(metadata, "entry_points", counting)
    registry = ExtensionRegistry()
    installed = [e.get_extension_name() for e in registry.all()]
    assert [e.get_extension_name() for e in registry.all()] == installed
    assert calls == [ExtensionRegistry.GROUP]

    class Named:
        def get_extension_name(self) -> str:
            return "later"

        def get_help_text(self) -> str:
            return "nothing"

        def cli_options(self) -> list[Any]:
            return []

        def build_config(self, params: Any) -> dict[str, Any]:
            return {}

    registry.register(Named())
    assert [e.get_extension_name() for e in registry.all()] == [*installed, "later"]
    assert calls == [ExtensionRegistry.GROUP]
