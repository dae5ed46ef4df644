"""The one place TOML is parsed: bounded, and every failure is a ConfigError naming the file.

``tomllib`` is in the standard library from Python 3.11; on 3.10 (JetPack 6, Ubuntu 22.04) the
same parser is the ``tomli`` package (a dependency there). Nothing else in the repository
imports either, so the fallback is decided here once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

try:
    import tomllib as _toml
except ModuleNotFoundError:  # Python 3.10
    import tomli as _toml

from pipeline.config.files import read_small_text
from pipeline.config.loader import MAX_INT
from pipeline.errors import ConfigError

PARSER = _toml.__name__          # "tomllib" or "tomli": which parser this interpreter uses
TOMLDecodeError = _toml.TOMLDecodeError

MAX_CONFIG_BYTES = 1024 * 1024   # a config is a few kB; anything this big is the wrong file
MAX_NESTING = 32                 # tables and lists in tables; real configs nest 4 deep


def loads(text: str, where: str = "") -> dict:
    """Parse TOML text; malformed, too deep or overflowing input is a ConfigError naming ``where``."""
    try:
        return _parse(text, where)
    except TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}" if where else f"malformed TOML: {exc}") from None


def parse_value(text: str, where: str) -> Any:
    """A ``--set`` value as TOML (numbers, booleans, lists, quoted strings); bare words stay strings."""
    try:
        return _parse(f"v = {text}", where)["v"]
    except TOMLDecodeError:
        return text


def _parse(text: str, where: str) -> dict:
    prefix = f"{where}: " if where else ""
    try:
        data = _toml.loads(text)
    except RecursionError:  # the parser recurses per nested list or inline table
        raise ConfigError(f"{prefix}nested deeper than {MAX_NESTING} levels") from None
    except TOMLDecodeError:
        raise
    except ValueError as exc:  # an integer of more than sys.get_int_max_str_digits() digits
        raise ConfigError(f"{prefix}integer out of range ({exc})") from None
    check_plain(data, where)
    return data


def read(path: str | Path) -> dict:
    """Read and parse a config file of at most MAX_CONFIG_BYTES, UTF-8 encoded."""
    text = read_small_text(path, MAX_CONFIG_BYTES, ConfigError, "config file",
                           size_hint=" (MAX_CONFIG_BYTES); is this the config file?",
                           encoding_hint="; TOML files are UTF-8")
    return loads(text, str(path))


def check_plain(data: Any, where: str = "") -> None:
    """Reject what no option can mean: nesting deeper than MAX_NESTING, integers beyond 64 bits.

    Checked without recursion, so a pathological file cannot overflow the stack here either.
    """
    prefix = f"{where}: " if where else ""
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, key, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ConfigError(f"{prefix}{key or 'value'}: nested deeper than {MAX_NESTING} levels")
        if isinstance(value, dict):
            stack.extend((v, f"{key}.{k}" if key else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{key}[{i}]", depth + 1) for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
            raise ConfigError(f"{prefix}{key}: integer out of range (the limit is +-{MAX_INT})")
