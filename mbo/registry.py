"""Finding tasks and optimizers by name, and fingerprinting their source code.

Built-ins register through the entry-point groups ``mbo.tasks`` and ``mbo.optimizers`` exactly
as a third-party package would. A class can also be named directly as
``package.module:Class`` or ``path/to/file.py:Class``.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import inspect
import os
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
    mod_name = f"{_FILE_MODULE}{digest}"
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


def source_files(*classes: type) -> list[Path]:
    """Every source file the code of ``classes`` imports from mbo or from its plug-in's own folder.

    The transitive closure over ``import`` statements (at any depth, lazy ones inside functions
    included) that resolve to a module of the ``mbo`` package or to a file under the folder of one
    of the classes' own files (a plug-in's helper modules). Third-party packages are left out:
    records store their versions. Package ``__init__`` files on the way are included.
    """
    return [path for path, _ in _closure(*classes)]


def _closure(*classes: type) -> list[tuple[Path, str]]:
    """``(file, key)`` pairs of :func:`source_files`, ordered by ``key``: a name of the file that does
    not depend on where the project is checked out (the module name, or the path in its plug-in folder)."""
    roots: list[tuple[Path, str]] = []  # (file, module name; "" for a plug-in file loaded by path)
    for cls in classes:
        for klass in cls.__mro__:
            if klass is object:
                continue
            try:
                path = Path(inspect.getsourcefile(klass) or "")
            except TypeError:  # a builtin or a class made at run time without a file
                continue
            if path.is_file():
                roots.append((path.resolve(), "" if klass.__module__.startswith(_FILE_MODULE) else klass.__module__))
    local = sorted({path.parent for path, module in roots if not _is_mbo(module)})
    seen: dict[Path, str] = {}
    todo = list(roots)
    while todo:
        path, module = todo.pop()
        if path in seen:
            continue
        seen[path] = module
        parents = [module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1)] if _is_mbo(module) else []
        for name in [*parents, *_imports(path, module, _stamp(path))]:
            todo.extend(found for found in _resolve(name, path, local) if found[0] not in seen)
    return sorted(((path, _key(path, module, local)) for path, module in seen.items()), key=lambda item: item[1])


_FILE_MODULE = "mbo_user_"  # modules of plug-in files loaded by path (see _load_file)


def _is_mbo(module: str) -> bool:
    return module == "mbo" or module.startswith("mbo.")


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=4096)
def _imports(path: Path, module: str, stamp: tuple[int, int]) -> tuple[str, ...]:
    """Absolute names of the modules ``path`` imports (each prefix, and ``from a import b`` as ``a.b`` too)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return ()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                if not package:  # a plug-in file loaded by path: relative to its folder
                    base = "." * node.level + base
                else:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            names.append(base)
            names.extend(f"{base}.{alias.name}" if base.strip(".") else base + alias.name
                         for alias in node.names if alias.name != "*")
    out: list[str] = []
    for name in names:
        dots = len(name) - len(name.lstrip("."))
        parts = name.lstrip(".").split(".")
        out.extend("." * dots + ".".join(parts[:i]) for i in range(1, len(parts) + 1) if parts[0])
    return tuple(dict.fromkeys(out))


def _resolve(name: str, importer: Path, local: list[Path]) -> list[tuple[Path, str]]:
    """The source file of module ``name`` if it is part of mbo or lies under a plug-in folder."""
    if name.startswith("."):  # relative import in a plug-in file: look next to it
        dots = len(name) - len(name.lstrip("."))
        folder = importer.parent
        for _ in range(dots - 1):
            folder = folder.parent
        return [(p, "") for p in _module_file(folder, name.lstrip("."))]
    if _is_mbo(name) or _under(_origin(name.partition(".")[0]), local):
        origin = _origin(name)
        if origin is not None and (_is_mbo(name) or _under(origin, local)):
            return [(origin, name)]
        return []
    return [(p, name) for folder in local for p in _module_file(folder, name)]  # plug-in folder not on sys.path


def _module_file(folder: Path, name: str) -> list[Path]:
    base = folder.joinpath(*name.split("."))
    return [p.resolve() for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()][:1]


def _origin(name: str) -> Path | None:
    """The ``.py`` file of module ``name``, found without executing any module outside mbo."""
    parent, _, last = name.rpartition(".")
    if parent and parent not in sys.modules and not _is_mbo(parent):
        init = _origin(parent)  # find_spec would import (run) the parent package
        if init is None or init.name != "__init__.py":
            return None
        found = _module_file(init.parent, last)
        return found[0] if found else None
    try:
        spec = importlib.util.find_spec(name)  # imports nothing here but mbo packages
    except (ImportError, ValueError, AttributeError):
        return None
    origin = getattr(spec, "origin", None)
    if not origin or not origin.endswith(".py") or not os.path.isfile(origin):
        return None
    return Path(origin).resolve()


def _under(path: Path | None, folders: list[Path]) -> bool:
    return path is not None and any(path.is_relative_to(folder) for folder in folders)


def _key(path: Path, module: str, local: list[Path]) -> str:
    """A name for ``path`` that does not depend on where the project is checked out."""
    if _is_mbo(module):
        return module + ("/__init__" if path.name == "__init__.py" else "")
    for folder in local:
        if path.is_relative_to(folder):
            return path.relative_to(folder).as_posix()
    return path.name


def code_hash(*classes: type) -> str:
    """Hash of every source file the code of ``classes`` (an optimizer and a task) imports from
    mbo or from its plug-in folder (:func:`source_files`): a run is reused only while it matches.
    Classes without a source file contribute their qualified name."""
    h = hashlib.sha256()
    for cls in classes:
        try:
            has_file = Path(inspect.getsourcefile(cls) or "").is_file()
        except TypeError:
            has_file = False
        if not has_file:
            h.update(f"{cls.__module__}.{cls.__qualname__}".encode())
    for path, key in _closure(*classes):
        h.update(key.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]
