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


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Names in ``known`` that look like ``name`` (case-insensitive), best first."""
    known = list(known)
    by_lower = {k.lower(): k for k in known}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.5)]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`` Did you mean: a, b?`` or an empty string."""
    close = close_matches(name, known)
    return f" Did you mean: {', '.join(close)}?" if close else ""


class UnknownNameError(MBOError, KeyError):
    """A task or optimizer name that is not registered."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        known = sorted(known)
        article = "An" if kind[:1] in "aeiou" else "A"
        msg = (f"unknown {kind} {name!r}.{did_you_mean(name, known)} Registered {kind}s: {', '.join(known)}. "
               f"{article} {kind} can also be given as 'package.module:Class' or 'path/to/file.py:Class'.")
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


class ResultsDirError(MBOError, OSError):
    """The results folder cannot be written (checked before any training)."""


class OracleAccessError(MBOError, RuntimeError):
    """An oracle was called while an optimizer was fitting or proposing: only the harness scores."""


class OptimizerProcessLost(MBOError, RuntimeError):
    """The child process running an optimizer's code died before returning (killed, out of memory)."""


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
