"""The two forms a placeholder's value takes in the output: JSON, and text spliced into a string."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any

from jinja2.runtime import Undefined


class NotJSONError(TypeError):
    """A value (or a value nested in it) has no JSON form.

    :param type_name: the name of the offending type; the value itself is never kept.
    """

    def __init__(self, type_name: str) -> None:
        super().__init__(f"a {type_name} has no JSON form")
        self.type_name = type_name


def _fallback(value: Any) -> Any:
    """Give the encoder a JSON form for the few non-JSON types that have an obvious one."""
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Mapping):
        return dict(value)
    raise NotJSONError(type(value).__name__)


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_fallback)


def json_text(value: Any) -> str:
    """Return ``value`` as compact JSON text; undefined is ``null``.

    :raises NotJSONError: the value, or something inside it, has no JSON form.
    :raises ValueError: NaN or infinity, a circular reference, an integer too long to print.
    :raises RecursionError: the value is nested too deeply.
    """
    kind = type(value)
    if kind is str:
        return encode_basestring(value)
    if kind is int:
        return int.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        if not math.isfinite(value):
            raise ValueError("Out of range float values (NaN or infinity) are not JSON compliant")
        return float.__repr__(value)
    if isinstance(value, Undefined):
        return "null"
    return _ENCODER.encode(value)


def plain_text(value: Any) -> str:
    """Return the text form of ``value``: strings verbatim, ``null`` and undefined empty, else JSON.

    Numbers and booleans give their JSON text (``1765``, ``true``), objects and arrays compact
    JSON.

    :raises NotJSONError: as :func:`json_text`.
    """
    if type(value) is str:
        return value
    if value is None or isinstance(value, Undefined):
        return ""
    if isinstance(value, str):
        return str.__str__(value)
    return json_text(value)
