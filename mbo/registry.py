"""Finding tasks and optimizers by name, and fingerprinting their source code.

Built-ins register through the entry-point groups ``mbo.tasks`` and ``mbo.optimizers`` exactly
as a third-party package would. A class can also be named directly as
``package.module:Class`` or ``path/to/file.py:Class``.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import traceback
from importlib.metadata import entry_points
from pathlib import Path

from mbo.errors import ConfigError, UnknownNameError

GROUPS = {"task": "mbo.tasks", "optimizer": "mbo.optimizers"}


def names(kind: str) -> dict[str, str]:
    """Registered ``{name: "module:Class"}`` for ``kind`` in ``{"task", "optimizer"}`` (no import)."""
    eps = entry_points(group=GROUPS[kind])
    out: dict[str, str] = {}
    for ep in eps:
        if ep.name in out and out[ep.name] != ep.value:
            raise ConfigError(f"{kind} name {ep.name!r} is registered twice: {out[ep.name]} and {ep.value}")
        out[ep.name] = ep.value
    return dict(sorted(out.items()))


def load_class(kind: str, name_or_class):
    """Resolve a registered name, ``module:Class`` or ``file.py:Class`` to the class."""
    if isinstance(name_or_class, type):
        return name_or_class
    spec = str(name_or_class)
    registered = names(kind)
    if spec in registered:
        return _import(registered[spec], spec)
    if ":" in spec:
        return _import(spec, spec)
    if spec.endswith(".py"):
        raise ConfigError(f"{kind} {spec!r} is a file; name the class in it as {spec}:ClassName"
                          + _classes_hint(kind, spec))
    raise UnknownNameError(kind, spec, registered)


def _classes_hint(kind: str, file: str) -> str:
    """`` (classes there: A, B)`` for the task/optimizer classes defined in ``file``, if it loads."""
    from mbo.core import Optimizer, Task

    base = Task if kind == "task" else Optimizer
    try:
        module = _load_file(Path(file).expanduser().resolve(), file)
    except ConfigError:
        return ""
    found = [n for n, obj in vars(module).items()
             if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == module.__name__
             and not n.startswith("_")]
    solvers = [n for n, obj in vars(module).items() if kind == "optimizer" and n.startswith("solve")
               and inspect.isfunction(obj) and obj.__module__ == module.__name__]
    return ((f" ({kind} classes there: {', '.join(found)})" if found else "")
            + (f" (design-bench-style solve functions there: {', '.join(solvers)})" if solvers else ""))


def _load_file(path: Path, label: str):
    """Import a Python file as a module; one-line errors for a missing file or broken code.

    The module is cached per file *content*, so an edited file is imported afresh. The file's
    folder goes first on ``sys.path`` (as pytest does for test files) and stays there, so the file
    can import a module next to it, at load time or later in ``fit``.
    """
    if not path.is_file():
        raise ConfigError(f"cannot load {label!r}: file {path} does not exist")
    digest = hashlib.sha1(str(path).encode() + path.read_bytes()).hexdigest()[:12]
    mod_name = f"mbo_user_{digest}"
    if mod_name in sys.modules:
        return sys.modules[mod_name]
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(mod_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[mod_name]
        raise ConfigError(f"{exc.filename or path}:{exc.lineno}: syntax error: {exc.msg}; "
                          f"fix that line of the file and re-run") from None
    except Exception as exc:
        del sys.modules[mod_name]
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
        where = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise ConfigError(f"{where}: importing the file failed with {type(exc).__name__}: {exc}; "
                          "fix the file and re-run") from None
    return module


def _import(target: str, label: str):
    module_name, _, attr = target.rpartition(":")
    if module_name.endswith(".py") or "/" in module_name:
        module = _load_file(Path(module_name).expanduser().resolve(), label)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"cannot load {label!r}: module {module_name!r} not found ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"cannot load {label!r}: {module_name} has no attribute {attr!r}") from None


def where(cls: type) -> str:
    """``file:line`` of a class definition (or its module name when the source is unknown)."""
    try:
        return f"{inspect.getsourcefile(cls)}:{inspect.getsourcelines(cls)[1]}"
    except (OSError, TypeError):
        return cls.__module__


def check_implements(cls: type, base: type, methods: dict[str, str]) -> None:
    """Fail (one line, naming file and line) when ``cls`` leaves one of ``methods`` to ``base``.

    Args:
        methods: ``{name: signature}``; a method counts as implemented if any class between
            ``cls`` and ``base`` defines it.
    """
    missing = [m for m in methods if getattr(cls, m) is getattr(base, m)]
    if missing:
        sigs = " and ".join(f"def {methods[m]}" for m in missing)
        raise ConfigError(f"{where(cls)}: {base.__name__.lower()} class {cls.__name__} does not implement "
                          f"{', '.join(missing)}; add {sigs} to it (see the {base.__name__} docstring)")


def source_files(cls: type) -> list[Path]:
    """Source files of ``cls`` and of its bases outside mbo's core types (a plugin file is itself)."""
    files = []
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "mbo.core":
            continue
        try:
            path = Path(inspect.getsourcefile(klass) or "")
        except TypeError:  # a builtin or a class made at run time without a file
            continue
        if path.is_file() and path not in files:
            files.append(path)
    return files


def code_hash(*classes: type) -> str:
    """Hash of the source modules of ``classes`` (an optimizer and a task): a run is reused only
    while it matches. Classes without a source file contribute their qualified name."""
    h = hashlib.sha256()
    for cls in classes:
        files = source_files(cls)
        if not files:
            h.update(f"{cls.__module__}.{cls.__qualname__}".encode())
        for path in files:
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
