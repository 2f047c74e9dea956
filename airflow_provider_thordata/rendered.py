"""Reading values that Airflow rendered from templates."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any


def json_object(value: object, name: str) -> dict[str, Any] | None:
    """Return a rendered field as a dict: a mapping as is, text as the object it spells.

    Airflow renders templates to text unless the DAG sets ``render_template_as_native_obj``,
    so ``"{{ ti.xcom_pull('watch') }}"`` arrives as text: the ``repr`` of a dict (what Jinja
    prints for one) or JSON. Both are read, as literals only (nothing is evaluated). Anything
    else is refused with a message that says how to pass the value natively.

    :param value: the rendered value; ``None`` and ``""`` mean no value.
    :param name: the field's name, for the error message.
    :raises ValueError: ``value`` is neither a mapping, the text of an object, nor empty.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        parsed = _literal(value)
        if isinstance(parsed, dict):
            return parsed
    hint = (
        " A list was given: pass one of its items."
        if isinstance(value, (list, tuple)) or isinstance(_literal(value), list)
        else ""
    )
    raise ValueError(
        f"{name} must be a dict, or a template rendering to one; got {type(value).__name__} "
        f"{str(value)[:60]!r}.{hint} Pass an XComArg (e.g. sensor.output) or set "
        "render_template_as_native_obj=True on the DAG to keep rendered values native."
    )


def _literal(value: object) -> object:
    """Return what JSON text or a Python literal's text spells, or ``None`` if it spells nothing."""
    if not isinstance(value, str):
        return None
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return ast.literal_eval(value.strip())
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
