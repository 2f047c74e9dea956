from __future__ import annotations

import datetime
import enum
import types
from collections import OrderedDict
from typing import Any

import pytest
from jinja2.runtime import ChainableUndefined

from airflow_provider_thordata.templating._encoding import NotJSONError, json_text, plain_text


class Color(enum.IntEnum):
    RED = 1


class Tag(str, enum.Enum):
    NEW = "new"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('é "q" \\ \n', '"é \\"q\\" \\\\ \\n"'),
        (0, "0"),
        (-12, "-12"),
        (2**70, str(2**70)),
        (1.5, "1.5"),
        (-0.0, "-0.0"),
        (1e300, "1e+300"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        (ChainableUndefined(name="x"), "null"),
        ([], "[]"),
        ({"a": [1, {"b": None}], "c": "d"}, '{"a":[1,{"b":null}],"c":"d"}'),
        ((1, "x"), '[1,"x"]'),
        (types.MappingProxyType({"a": 1}), '{"a":1}'),
        (OrderedDict(b=1, a=2), '{"b":1,"a":2}'),
        ([ChainableUndefined(name="x")], "[null]"),
        (Color.RED, "1"),
        (Tag.NEW, '"new"'),
    ],
)
def test_json_text_is_compact_json_with_unicode_kept(value: Any, expected: str) -> None:
    assert json_text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("as is {{ x }}", "as is {{ x }}"),
        ("", ""),
        (Tag.NEW, "new"),
        (None, ""),
        (ChainableUndefined(name="x"), ""),
        (0, "0"),
        (1765, "1765"),
        (2.5, "2.5"),
        (True, "true"),
        (False, "false"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        ([1, None], "[1,null]"),
    ],
)
def test_plain_text_gives_strings_verbatim_empty_for_null_and_json_for_the_rest(
    value: Any, expected: str
) -> None:
    assert plain_text(value) == expected


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        (datetime.datetime(2025, 6, 7), "datetime"),
        ({1, 2}, "set"),
        (b"raw", "bytes"),
        ({"nested": [object()]}, "object"),
        ((x for x in []), "generator"),
    ],
)
def test_a_value_with_no_json_form_names_its_type_and_not_its_content(value: Any, type_name: str) -> None:
    with pytest.raises(NotJSONError, match=f"^a {type_name} has no JSON form$") as caught:
        json_text(value)

    assert caught.value.type_name == type_name


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [float("-inf")]])
def test_nan_and_infinity_are_refused(value: Any) -> None:
    with pytest.raises(ValueError, match="Out of range float values"):
        json_text(value)


def test_a_value_that_contains_itself_is_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)

    with pytest.raises(ValueError, match="Circular reference"):
        json_text(loop)
