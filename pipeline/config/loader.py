"""Typed loading of dataclass trees from plain dicts (TOML, JSON).

Unknown keys are rejected by name, wrong types say what was expected, and every
field carries a description in its metadata (``option(default, "doc")``).
Polymorphic sections (sources, stages) are resolved through a ``Registry`` by
their ``type`` key. The same loader reads model contracts from ONNX metadata.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from pipeline.errors import ConfigError

_MISSING = dataclasses.MISSING
MAX_INT = 2**63 - 1  # no option means more (ports, counts, sizes): a larger number is a typo


def option(default: Any = _MISSING, doc: str = "", *, factory: Any = _MISSING, at_least: float | None = None,
           above: float | None = None, at_most: float | None = None) -> Any:
    """A documented dataclass field. Use ``factory`` for lists and tables.

    ``at_least``, ``above`` and ``at_most`` bound a number (or every number of a list): a value
    outside is a ConfigError naming the key and the range, so an impossible setting (a negative
    budget, a port beyond 65535) fails at load time instead of misbehaving at run time.
    """
    metadata = {"doc": doc, "bounds": (at_least, above, at_most)}
    if factory is not _MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def bounds_text(f: dataclasses.Field) -> str:
    """'>= 0', '> 0 and <= 1' ...: the range of a bounded option, empty when unbounded."""
    at_least, above, at_most = f.metadata.get("bounds", (None, None, None))
    parts = [f"{op} {v:g}" for op, v in ((">=", at_least), (">", above), ("<=", at_most)) if v is not None]
    return " and ".join(parts)


def _check_bounds(f: dataclasses.Field, value: Any, where: str) -> None:
    at_least, above, at_most = f.metadata.get("bounds", (None, None, None))
    values = value if isinstance(value, (list, tuple)) else [value]
    for v in values:
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        if ((at_least is not None and v < at_least) or (above is not None and v <= above)
                or (at_most is not None and v > at_most)):
            raise _fail(where, f"{v!r} is out of range (must be {bounds_text(f)})")


class Registry:
    """Classes keyed by name, each with a typed config; looked up by a ``type`` field.

    ``unavailable`` records why a known entry cannot be used here (an ImportError
    from an optional library), so the error says why instead of "unknown type".
    """

    def __init__(self, kind: str):
        self.kind = kind
        self.entries: dict[str, tuple[type, Any]] = {}
        self.unavailable: dict[str, str] = {}

    def register(self, name: str, config_cls: type):
        def wrap(cls):
            self.entries[name] = (config_cls, cls)
            return cls
        return wrap

    def name_of(self, config_cls: type) -> str:
        for name, (cfg, _) in self.entries.items():
            if cfg is config_cls:
                return name
        raise KeyError(f"{config_cls.__name__} is not registered as a {self.kind}")

    def config_class(self, name: str, where: str) -> type:
        if name in self.unavailable:
            raise ConfigError(f"{where}: {self.kind} '{name}' unavailable: {self.unavailable[name]}")
        if name not in self.entries:
            known = ", ".join(sorted(self.entries)) or "none registered"
            raise ConfigError(f"{where}: unknown {self.kind} type '{name}' (known: {known})")
        return self.entries[name][0]

    def implementation(self, name: str) -> type:
        """The class registered under ``name`` (KeyError when none is)."""
        return self.entries[name][1]

    def build(self, config: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(config, "type")
        return self.entries[name][1](config, *args, **kwargs)


class Tagged:
    """Base for configs selected by a ``type`` key; subclasses set ``registry``."""

    registry: typing.ClassVar[Registry]

    def __post_init__(self) -> None:
        if not getattr(self, "type", ""):  # built in code: the type is the class's registered name
            self.type = self.registry.name_of(type(self))


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def _fail(where: str, msg: str) -> ConfigError:
    return ConfigError(f"{where}: {msg}" if where else msg)


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        real = [o for o in options if o is not type(None)]
        if len(real) == 1:  # Optional[X]: X's own error names the inner key
            return _convert(real[0], value, where)
        for option_tp in real:
            try:
                return _convert(option_tp, value, where)
            except ConfigError:
                continue
        raise _fail(where, f"expected {' or '.join(_type_name(o) for o in options)}, got {value!r}")
    if origin is Literal:
        if value not in get_args(tp):
            raise _fail(where, f"expected one of {_type_name(tp)}, got {value!r}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _fail(where, f"expected a list, got {type(value).__name__} {value!r}")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise _fail(where, f"expected {len(args)} items, got {len(value)}")
            return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item_tp = args[0] if args else Any
        items = [_convert(item_tp, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, dict):
            raise _fail(where, f"expected a table, got {value!r}")
        key_tp, val_tp = get_args(tp) or (str, Any)
        return {_convert(key_tp, k, where): _convert(val_tp, v, _join(where, str(k))) for k, v in value.items()}
    if isinstance(tp, type) and issubclass(tp, Tagged):
        if not isinstance(value, dict):
            raise _fail(where, f"expected a table with a 'type' key, got {value!r}")
        if "type" not in value:
            raise _fail(where, f"missing key 'type' (one of: {', '.join(sorted(tp.registry.entries))})")
        return build(tp.registry.config_class(value["type"], where), value, where)
    if dataclasses.is_dataclass(tp):
        return build(tp, value, where)
    if tp is bool:
        if not isinstance(value, bool):
            raise _fail(where, f"expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(where, f"expected an integer, got {value!r}")
        if abs(value) > MAX_INT:
            raise _fail(where, f"{value} is out of range (the limit is +-{MAX_INT})")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _fail(where, f"expected a number, got {value!r}")
        if isinstance(value, int) and abs(value) > MAX_INT:  # float() of 10**400 overflows
            raise _fail(where, f"{value} is out of range (the limit is +-{MAX_INT})")
        if not math.isfinite(value):  # TOML has inf and nan; no option means either
            raise _fail(where, f"expected a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise _fail(where, f"expected a string, got {value!r}")
        return value
    raise _fail(where, f"unsupported type {tp!r}")  # a bug in a config class, not user input


def build(cls: type, data: Any, where: str = "") -> Any:
    """Build dataclass ``cls`` from ``data``, naming any unknown key or wrong type."""
    if not isinstance(data, dict):
        raise _fail(where, f"expected a table, got {type(data).__name__} {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise _fail(where, f"unknown key '{unknown[0]}' (allowed: {', '.join(fields)})")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, f in fields.items():
        key_where = _join(where, name)
        if name in data:
            kwargs[name] = _convert(hints[name], data[name], key_where)
            _check_bounds(f, kwargs[name], key_where)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            raise _fail(key_where, "missing required key")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        problem = check()
        if problem:
            name, sep, rest = problem.partition(": ")  # "mode: ..." or "budget.policy: ..." names a field
            named = sep and name.split(".", 1)[0] in fields
            raise _fail(_join(where, name), rest) if named else _fail(where, problem)
    return obj


def to_dict(obj: Any) -> Any:
    """The plain-dict form of a config tree (what gets saved with results)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def describe(cls: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key, type, default, doc) for every field, recursively: the config reference."""
    rows = []
    hints = get_type_hints(cls)
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        key = f"{prefix}{f.name}"
        if f.default is not _MISSING:
            default = repr(f.default)
        elif f.default_factory is not _MISSING:
            default = repr(to_dict(f.default_factory()))
        else:
            default = "(required)"
        doc = f.metadata.get("doc", "")
        if bounds_text(f):
            doc = f"{doc} ({bounds_text(f)})"
        rows.append((key, _type_name(tp), default, doc))
        if dataclasses.is_dataclass(tp):
            rows.extend(describe(tp, key + "."))
    return rows
