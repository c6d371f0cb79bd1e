"""Resolving an optimizer's configuration: profile presets, then typed ``--set`` overrides."""
from __future__ import annotations

import dataclasses
import math
import operator
import types
import typing
from typing import Any

from mbo.errors import ConfigError, did_you_mean


def parse_assignments(items: typing.Iterable[str]) -> dict[str, str]:
    """Turn ``["k=v", ...]`` into a dict, with a clear error for a malformed item."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _coerce(name: str, value: Any, tp: Any) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if errors else f"bad value {value!r} for {name}")
    if origin is typing.Literal:
        for choice in args:
            if str(choice) == str(value):
                return choice
        raise ConfigError(f"{name} must be one of {list(args)}, got {value!r}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        low = str(value).lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} expects a boolean (true/false), got {value!r}")
    if tp in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{name} expects {tp.__name__}, got a boolean")
        try:
            if tp is int:
                f = float(value)
                if not f.is_integer():
                    raise ValueError
                return int(f)
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name} expects {tp.__name__}, got {value!r}") from None
    if tp is str:
        return str(value)
    if origin in (tuple, list):
        if isinstance(value, str):
            value = [v for v in value.strip("()[] ").split(",") if v.strip()]
        inner = args[0] if args else str
        return origin(_coerce(name, v, inner) for v in value)
    return value


def check_seed(seed: Any) -> int:
    """``seed`` as an int if it is a valid run seed (0 ≤ seed < 2**32, NumPy's range), else a ConfigError."""
    try:
        value = None if isinstance(seed, bool) else operator.index(seed)
    except TypeError:
        value = None
    if value is None or not 0 <= value < 2**32:
        raise ConfigError(f"seed {seed!r} is out of range: seeds are whole numbers from 0 to {2**32 - 1} "
                          "(e.g. --seed 0, --seeds 0-4)")
    return value


_BOUNDS = {"gt": (">", lambda v, b: v > b), "ge": ("≥", lambda v, b: v >= b),
           "lt": ("<", lambda v, b: v < b), "le": ("≤", lambda v, b: v <= b)}


def check_value(name: str, value: Any, field: dataclasses.Field | None = None) -> None:
    """Refuse a non-finite number (NaN, ±inf) and a number outside the field's declared range.

    A config field declares its range in its metadata with any of ``gt``, ``ge``, ``lt``, ``le``,
    e.g. ``learning_rate: float = field(default=1e-3, metadata={"gt": 0})``; a field whose
    metadata holds ``finite=False`` accepts ±inf (NaN never).

    Raises:
        ConfigError: naming the key, the value and the fix (the field's default).
    """
    meta = field.metadata if field is not None else {}
    values = value if isinstance(value, (tuple, list)) else [value]
    nums = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    default = "" if field is None or field.default is dataclasses.MISSING else f" (the default is {field.default})"
    for v in nums:
        if math.isnan(v) or (math.isinf(v) and meta.get("finite", True)):
            raise ConfigError(f"{name}={v}: {name} must be a finite number; fix: --set {name}=<a number>{default}")
        for key, (sign, ok) in _BOUNDS.items():
            if key in meta and not ok(v, meta[key]):
                raise ConfigError(f"{name}={v}: {name} must be {sign} {meta[key]}; fix: --set {name}=<a number "
                                  f"{sign} {meta[key]}>{default}")


def resolve_config(cls: type, profile: str | None, overrides: dict[str, Any]) -> tuple[Any, str | None]:
    """Build ``cls.Config`` from its defaults, a named profile and overrides.

    ``paper`` always means the defaults. An optimizer without config fields accepts any
    profile (there is nothing to change); otherwise an unknown profile is an error.

    Returns:
        ``(config, note)``: the note says when the requested profile changes nothing.

    Raises:
        ConfigError: unknown profile or key (with close matches and the valid ones), or a value
            of the wrong type.
    """
    config_cls = cls.Config
    fields = {f.name: f for f in dataclasses.fields(config_cls)}
    hints = typing.get_type_hints(config_cls)
    note = None
    values: dict[str, Any] = {}
    profiles = getattr(cls, "profiles", {}) or {}
    if profile and profile in profiles:
        values.update(profiles[profile])
    elif profile and profile != "paper":
        if fields:
            published = ", the published setting" if "paper" in profiles else ""
            raise ConfigError(f"optimizer {cls.name!r} has no profile {profile!r}.{did_you_mean(profile, profiles)} "
                              f"Its profiles: {', '.join(sorted(set(profiles) | {'paper'}))} "
                              f"(paper = the defaults{published})")
        note = f"{cls.name} has no tunable config, so --profile {profile} changes nothing"
    for key, value in overrides.items():
        if key not in fields:
            if not fields:
                raise ConfigError(f"optimizer {cls.name!r} has no config keys, so --set {key}=... cannot apply")
            raise ConfigError(f"unknown config key {key!r} for optimizer {cls.name!r}.{did_you_mean(key, fields)} "
                              f"valid keys: {', '.join(sorted(fields))} (mbo optimizers {cls.name} shows them)")
        values[key] = value
    typed = {k: _coerce(k, v, hints.get(k, Any)) for k, v in values.items()}
    for k, v in typed.items():
        check_value(k, v, fields[k])
    try:
        config = config_cls(**typed)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid config for {cls.name!r}: {exc}") from exc
    return config, note


def config_fields(cls: type) -> list[tuple[str, str, Any]]:
    """``(name, type, default)`` of each field of an optimizer's ``Config``."""
    hints = typing.get_type_hints(cls.Config)
    out = []
    for f in dataclasses.fields(cls.Config):
        default = (f.default if f.default is not dataclasses.MISSING
                   else f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        tp = hints.get(f.name, Any)
        out.append((f.name, getattr(tp, "__name__", None) if isinstance(tp, type) else str(tp).replace("typing.", ""),
                    default))
    return out
