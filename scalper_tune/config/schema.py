"""YAML -> frozen dataclasses, validated once, with errors that name the file and the key.

`build(cls, raw, file=..., where=...)` walks the dataclass fields (types from annotations):
unknown keys get a "did you mean", wrong types a one-line message. After the build, every
dataclass with a `problems()` method reports semantic errors as (key, message) pairs.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from pathlib import Path
from typing import Any, Mapping

import yaml

from scalper_tune.errors import ConfigError


def load_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file; a missing or malformed file is a ConfigError naming it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such {what} file. Check the path.")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc}).") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where} malformed YAML ({problem}). Fix the syntax there.") from None


def did_you_mean(key: str, allowed: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed keys: {', '.join(allowed)}."


def check_keys(raw: Mapping, allowed, file: str, where: str = "") -> None:
    """Refuse the first key of `raw` not in `allowed`, with a "did you mean"."""
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{file}: {_dotted(where, str(key))}: unknown key"
                              f"{did_you_mean(str(key), allowed)}")


def _dotted(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _type_name(tp: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    if tp in names:
        return names[tp]
    if typing.get_origin(tp) is tuple:
        return "a list"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return str(tp)


def _convert(tp: Any, value: Any, file: str, where: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(options[0], value, file, where)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, file=file, where=where)
    if origin is tuple:
        if not isinstance(value, list):
            raise ConfigError(f"{file}: {where}: expected a list, got {value!r}.")
        item = typing.get_args(tp)[0]
        return tuple(_convert(item, v, file, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{file}: {where}: expected a mapping, got {value!r}.")
        _, item = typing.get_args(tp)
        return {str(k): _convert(item, v, file, _dotted(where, str(k))) for k, v in value.items()}
    if tp is str and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # `crash: 2022` means the string "2022"
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(tp, True)
    if not ok:
        raise ConfigError(f"{file}: {where}: expected {_type_name(tp)}, got {value!r}.")
    return float(value) if tp is float else value


def build(cls: type, raw: Any, *, file: str, where: str = "") -> Any:
    """Instantiate dataclass `cls` from a YAML mapping, checking keys and types."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        label = where or "the file"
        raise ConfigError(f"{file}: {label}: expected a mapping of keys, got {raw!r}.")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    check_keys(raw, fields, file, where)
    values = {}
    for name, field in fields.items():
        if name in raw:
            values[name] = _convert(hints[name], raw[name], file, _dotted(where, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{file}: {_dotted(where, name)}: required key is missing.")
    obj = cls(**values)
    if hasattr(obj, "problems"):
        for key, message in obj.problems():
            raise ConfigError(f"{file}: {_dotted(where, key)}: {message}.")
    return obj
