"""Finding tasks and optimizers by name.

Built-ins register through the entry-point groups ``mbo.tasks`` and ``mbo.optimizers`` exactly
as a third-party package would. A class can also be named directly as
``package.module:Class`` or ``path/to/file.py:Class``.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
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
    raise UnknownNameError(kind, spec, registered)


def _import(target: str, label: str):
    module_name, _, attr = target.rpartition(":")
    if module_name.endswith(".py") or "/" in module_name:
        path = Path(module_name).expanduser().resolve()
        if not path.is_file():
            raise ConfigError(f"cannot load {label!r}: file {path} does not exist")
        mod_name = "mbo_user_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
        if mod_name in sys.modules:
            module = sys.modules[mod_name]
        else:
            spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"cannot load {label!r}: module {module_name!r} not found ({exc})") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"cannot load {label!r}: {module_name} has no attribute {attr!r}") from None
