"""What a face store file must hold, checked before anything uses it.

A store is {"version": 1, "model": NAME, "people": {PERSON: {"templates": [[float, ...], ...],
"enrolled_at": TEXT}}}. A hand-edited or damaged file (a list, no ``people``, a template
of strings, of the wrong length, with NaN) is refused with the key that is wrong, so
``enroll --list`` and ``unlock`` print one line instead of failing deep inside numpy.
"""
from __future__ import annotations

import json

import numpy as np

from pipeline.errors import InputError

STORE_VERSION = 1
MAX_STORE_BYTES = 32 * 2**20  # about 24,000 templates of 128 values
MAX_NAME_CHARS = 64
TEMPLATE_DECIMALS = 6  # float32 holds about 7 significant digits; more only bloats the file


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number")


def parse_store(text: bytes, model: str, dim: int | None) -> dict[str, dict]:
    """The ``people`` of a store file; ValueError says what is wrong, after 'face store PATH'."""
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"is unreadable: not JSON ({exc})") from None
    except RecursionError:
        raise ValueError("is unreadable: JSON nested too deeply") from None
    except ValueError as exc:
        raise ValueError(f"is unreadable: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"is not a face store: a JSON {type(data).__name__}, not an object with version, "
                         "model and people")
    if data.get("version") != STORE_VERSION or data.get("model") != model:
        raise ValueError(f"holds templates of model {data.get('model')!r} (version {data.get('version')}); "
                         f"this model is {model!r}: re-enrol")
    people = data.get("people")
    if not isinstance(people, dict):
        raise ValueError("has no 'people' object: re-enrol")
    lengths = set()
    for name, person in people.items():
        try:
            check_name(name)
        except InputError as exc:
            raise ValueError(f"key people: {exc}") from None
        lengths.add(_check_person(name, person, dim))
    if len(lengths) > 1:
        raise ValueError(f"mixes templates of {sorted(lengths)} values: re-enrol")
    return people


def _check_person(name: str, person: object, dim: int | None) -> int:
    """The template length of a valid entry; ValueError naming the key otherwise."""
    where = f"key people.{name!r}"
    if not isinstance(person, dict) or "templates" not in person:
        raise ValueError(f"{where} is not an object with 'templates': re-enrol {name!r}")
    if not isinstance(person.get("enrolled_at", ""), str):
        raise ValueError(f"{where}.enrolled_at is not text")
    try:
        templates = np.array(person["templates"])
    except ValueError:  # rows of different lengths
        raise ValueError(f"{where}.templates has rows of different lengths: re-enrol {name!r}") from None
    if templates.ndim != 2 or templates.size == 0 or templates.dtype.kind not in "iuf":
        raise ValueError(f"{where}.templates is not a non-empty list of lists of numbers: re-enrol {name!r}")
    if not np.isfinite(templates).all():
        raise ValueError(f"{where}.templates holds a value that is not finite: re-enrol {name!r}")
    if dim is not None and templates.shape[1] != dim:
        raise ValueError(f"{where}.templates have {templates.shape[1]} values, this model makes {dim}: "
                         f"re-enrol {name!r}")
    return templates.shape[1]


def check_name(name: str) -> str:
    """A person's name: 1 to MAX_NAME_CHARS printable characters (it is printed by --list and unlock)."""
    if not name or len(name) > MAX_NAME_CHARS or not name.isprintable():
        raise InputError(f"a name must be 1 to {MAX_NAME_CHARS} printable characters, got {name!r}")
    return name


def check_embeddings(embeddings: np.ndarray, dim: int | None) -> list[list[float]]:
    """Rows to store, as JSON-ready lists; InputError for an empty, ragged or non-finite array."""
    rows = np.asarray(embeddings, np.float32)
    if rows.ndim != 2 or rows.size == 0 or not np.isfinite(rows).all():
        raise InputError(f"templates must be a non-empty 2-D array of finite numbers, got shape {rows.shape}")
    if dim is not None and rows.shape[1] != dim:
        raise InputError(f"templates must have {dim} values, got {rows.shape[1]}")
    return rows.round(TEMPLATE_DECIMALS).tolist()
