"""Reading values that Airflow rendered from templates."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def json_object(value: object, name: str) -> dict[str, Any] | None:
    """Return a rendered field as a dict: a mapping as is, a string as the JSON object it holds.

    Airflow renders templates to text unless the DAG sets ``render_template_as_native_obj``,
    so ``"{{ ti.xcom_pull('watch') }}"`` arrives as a string; JSON text is accepted, anything
    else is refused with a message that says how to pass the value natively.

    :raises ValueError: ``value`` is neither a mapping, JSON object text, nor empty.
    """
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            return parsed
    raise ValueError(
        f"{name} must be a dict, or a template rendering to a JSON object; got {type(value).__name__} "
        f"{str(value)[:60]!r}. Pass an XComArg (e.g. sensor.output) or set "
        "render_template_as_native_obj=True on the DAG to keep rendered values native."
    )
