"""Error hierarchy of mbo.

Every error inherits from :class:`MBOError` and from the builtin it stands for, so
``except ValueError`` keeps working for callers who do not know mbo. Messages say what
was wrong, the offending value, and how to fix it.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable


class MBOError(Exception):
    """Base class of every mbo error."""


class UnknownNameError(MBOError, KeyError):
    """A task or optimizer name that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        msg = (f"unknown {kind} {name!r}.{hint} Registered {kind}s: {', '.join(known)}. "
               f"A {kind} can also be given as 'package.module:Class' or 'path/to/file.py:Class'.")
        super().__init__(msg)
        self.message = msg

    def __str__(self) -> str:  # KeyError would quote the message
        return self.message


class ConfigError(MBOError, ValueError):
    """A bad configuration key or value."""


class MissingDataError(MBOError, FileNotFoundError):
    """A task's data files are not present; the message gives the command that fetches them."""


class ChecksumError(MBOError, ValueError):
    """A data file whose SHA-256 differs from the manifest."""


class OracleUnavailableError(MBOError, RuntimeError):
    """A task whose dataset loads but whose oracle cannot be evaluated here."""


class InvalidCandidatesError(MBOError, ValueError):
    """Candidates returned by an optimizer that cannot be scored (names the rows and why)."""


class NotFittedError(MBOError, RuntimeError):
    """``propose`` was called before ``fit``."""


class MissingDependencyError(MBOError, ImportError):
    """An optional dependency is not installed; the message gives the pip command."""


def require(module: str, extra: str | None = None, package: str | None = None):
    """Import an optional dependency, or raise with the install command.

    Args:
        module: module name to import, e.g. ``"cma"``.
        extra: the mbo extra that pulls it in, e.g. ``"bo"``.
        package: the PyPI name when it differs from ``module``.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pip = f"pip install 'mbo[{extra}]'" if extra else f"pip install {package or module}"
        raise MissingDependencyError(f"{module!r} is needed for this feature but is not installed. "
                                     f"Install it with: {pip}") from exc
