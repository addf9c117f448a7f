"""Loading handler classes: `module:Class`, `path/file.py:Class`, every handler in a file or a
directory of `test_*.py` files, and the `test_rig.handlers` entry-point group.

Every failure is a PluginError (exit status 2) that names the target and what to do.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from types import ModuleType

from test_rig.errors import PluginError
from test_rig.machine import StateHandler

ENTRY_POINT_GROUP = "test_rig.handlers"


@dataclass(frozen=True)
class LoadedHandler:
    """A handler class and where it came from (for reports)."""

    cls: type[StateHandler]
    source: str  # "module:Class" or "path/file.py:Class"
    suite: str

    @property
    def name(self) -> str:
        return self.cls.__name__


def _import_file(path: Path, kind: str = "Plugin file") -> ModuleType:
    """The module of the .py file `path` (imported once per file); PluginError naming it as `kind` ("Plugin
    file", "Workload file") when it cannot be imported."""
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    name = f"test_rig_plugin_{resolved.stem}_{digest}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise PluginError(f"{kind} {path} cannot be imported; give a .py file.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    # Let a plugin import its neighbours, as `python file.py` would.
    parent = str(resolved.parent)
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)
    try:
        spec.loader.exec_module(module)
    except Exception as e:
        del sys.modules[name]
        where = _where(e, str(resolved))
        detail = e.msg if isinstance(e, SyntaxError) else str(e)  # str() of a SyntaxError repeats the line
        raise PluginError(f"{kind} {path} failed to import: {type(e).__name__}: {detail}{where}; fix the "
                          "file and run again.") from e
    finally:
        if added:
            sys.path.remove(parent)
    return module


def _where(e: BaseException, filename: str) -> str:
    if isinstance(e, SyntaxError) and e.lineno:
        return f" (line {e.lineno})"
    for frame in reversed(traceback.extract_tb(e.__traceback__)):
        if frame.filename == filename:
            return f" (line {frame.lineno})"
    return ""


def _import_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        raise PluginError(f"Plugin module {name!r} was not found ({e}); check the name and that its directory "
                          "is on PYTHONPATH, or give a file path instead.") from e
    except Exception as e:
        raise PluginError(f"Plugin module {name!r} failed to import: {type(e).__name__}: {e}; fix the module "
                          "and run again.") from e


def handlers_in(module: ModuleType) -> list[type[StateHandler]]:
    """Every public StateHandler subclass defined in `module` (subclasses of subclasses too), in source
    order. Classes whose name starts with an underscore are helpers, not tests, and are left out."""
    found = [obj for obj in vars(module).values()
             if inspect.isclass(obj) and issubclass(obj, StateHandler) and obj.__module__ == module.__name__
             and not obj.__name__.startswith("_")
             and not inspect.isabstract(obj) and not obj.__dict__.get("__abstract_handler__", False)]
    return sorted(found, key=lambda c: inspect.getsourcelines(c)[1] if _has_source(c) else 0)


def _has_source(cls: type) -> bool:
    try:
        inspect.getsourcelines(cls)
    except (OSError, TypeError):
        return False
    return True


def _pick(module: ModuleType, class_name: str, label: str) -> type[StateHandler]:
    obj = getattr(module, class_name, None)
    if obj is None:
        available = ", ".join(c.__name__ for c in handlers_in(module)) or "none"
        raise PluginError(f"Plugin {label} has no class {class_name!r} (handler classes there: {available}); "
                          "check the name after the colon.")
    if not (inspect.isclass(obj) and issubclass(obj, StateHandler)):
        raise PluginError(f"Plugin {label}:{class_name} is not a StateHandler subclass; derive it from "
                          "test_rig.StateHandler or test_rig_python.PyStateHandler.")
    return obj


def _looks_like_path(spec: str) -> bool:
    return spec.endswith(".py") or "/" in spec or spec.startswith(".")


def load(target: str) -> list[LoadedHandler]:
    """Resolve one TARGET of `test-rig run` to handler classes."""
    path_part, _, class_name = target.rpartition(":") if ":" in target else (target, "", "")
    if class_name and _looks_like_path(path_part):
        path = Path(path_part)
        if not path.is_file():
            raise PluginError(f"Plugin file {path} does not exist; check the path before the colon.")
        cls = _pick(_import_file(path), class_name, str(path))
        return [LoadedHandler(cls, f"{path}:{class_name}", str(path))]
    if class_name:
        cls = _pick(_import_module(path_part), class_name, path_part)
        return [LoadedHandler(cls, f"{path_part}:{class_name}", path_part)]
    path = Path(target)
    if path.is_dir():
        files = sorted(path.glob("test_*.py"))
        if not files:
            raise PluginError(f"Directory {path} holds no test_*.py files; put handlers in files named test_*.py.")
        out: list[LoadedHandler] = []
        for f in files:
            out.extend(LoadedHandler(c, f"{f}:{c.__name__}", str(path)) for c in handlers_in(_import_file(f)))
        if not out:
            raise PluginError(f"No StateHandler subclasses were found in {path}/test_*.py.")
        return out
    if path.is_file():
        classes = handlers_in(_import_file(path))
        if not classes:
            raise PluginError(f"No StateHandler subclasses were found in {path}; derive a class from "
                              "test_rig.StateHandler or test_rig_python.PyStateHandler.")
        return [LoadedHandler(c, f"{path}:{c.__name__}", str(path)) for c in classes]
    if _looks_like_path(target):
        raise PluginError(f"Plugin path {target} does not exist; give a file, a directory or module:Class.")
    return load_entry_point(target)


def load_entry_point(name: str) -> list[LoadedHandler]:
    eps = [ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not eps:
        known = sorted(ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP))
        raise PluginError(f"{name!r} is not a file, a directory, module:Class or an installed handler entry point "
                          f"(group {ENTRY_POINT_GROUP}; installed: {', '.join(known) or 'none'}).")
    try:
        obj = eps[0].load()
    except Exception as e:
        raise PluginError(f"Entry point {name!r} ({eps[0].value}) failed to load: {type(e).__name__}: {e}.") from e
    if not (inspect.isclass(obj) and issubclass(obj, StateHandler)):
        raise PluginError(f"Entry point {name!r} ({eps[0].value}) is not a StateHandler subclass.")
    return [LoadedHandler(obj, eps[0].value, f"entry point {name}")]
