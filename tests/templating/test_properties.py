"""Properties over generated values and text (hypothesis), bounded to keep the module fast."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_provider_thordata.exceptions import TemplateError, TemplateJSONError
from airflow_provider_thordata.templating import DEFAULT_PAYLOAD_TEMPLATE, HeadersTemplate, PayloadTemplate
from airflow_provider_thordata.templating.samples import sample_variables

# Generated JSON values are costly to draw, text is cheap: fewer examples for the former.
VALUES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def json_strategy(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Return arbitrary JSON values whose strings and keys come from ``texts``."""
    scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(
        scalars | texts,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
        max_leaves=10,
    )


json_values = json_strategy(st.text(max_size=12))
# In a template, "{{", "{%" and "{#" inside a string are template syntax, not text; and a lone
# surrogate (which json.dumps writes as "\\ud800") is refused by the parser on purpose, since it
# cannot be sent as UTF-8.
json_values_without_braces = json_strategy(
    st.text(st.characters(exclude_characters="{", exclude_categories=("Cs",)), max_size=12)
)


def same(left: Any, right: Any) -> bool:
    """Return whether two JSON values are equal with exactly the same types throughout."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


def strict_loads(body: bytes) -> Any:
    """Parse JSON the strict way: NaN and Infinity are refused."""

    def refuse(constant: str) -> None:
        raise ValueError(f"not JSON: {constant}")

    return json.loads(body.decode("utf-8"), parse_constant=refuse)


@pytest.fixture(scope="module")
def bare() -> PayloadTemplate:
    return PayloadTemplate("{{ eventData }}")


@pytest.fixture(scope="module")
def whole_string() -> PayloadTemplate:
    return PayloadTemplate('{"value": "{{ eventData }}"}')


@pytest.fixture(scope="module")
def inside_string() -> PayloadTemplate:
    return PayloadTemplate('{"value": "<{{ eventData }}>"}')


@VALUES
@given(value=json_values)
def test_any_json_value_comes_back_type_exact_through_a_bare_placeholder(
    bare: PayloadTemplate, value: Any
) -> None:
    assert same(strict_loads(bare.render({"eventData": value})), value)


@VALUES
@given(value=json_values)
def test_any_json_value_comes_back_type_exact_through_a_whole_string_placeholder(
    whole_string: PayloadTemplate, value: Any
) -> None:
    assert same(strict_loads(whole_string.render({"eventData": value}))["value"], value)


@VALUES
@given(value=json_values)
def test_any_json_value_is_spliced_into_a_string_in_its_text_form(
    inside_string: PayloadTemplate, value: Any
) -> None:
    if isinstance(value, str):
        text = value
    elif value is None:
        text = ""
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    assert strict_loads(inside_string.render({"eventData": value}))["value"] == f"<{text}>"


@VALUES
@given(
    value=json_values_without_braces,
    indent=st.sampled_from([None, 0, 2, "\t"]),
    separators=st.sampled_from([None, (",", ":")]),
)
def test_any_json_document_is_accepted_and_renders_to_the_same_value(
    value: Any, indent: Any, separators: Any
) -> None:
    text = json.dumps(value, indent=indent, separators=separators, ensure_ascii=bool(indent))

    body = PayloadTemplate(text).render({})

    assert same(strict_loads(body), value)


_FRAGMENTS = [
    "{", "}", "[", "]", ":", ",", '"', "\\", "{{", "}}", "{%", "%}", "{#", "#}", " ", "\n", "true", "null",
    "0", "-1.5e3", "01", "userId", "resource.taskId", "eventData.items.0", "nope", "_x", "|", "lower",
    "default(", ")", "(", "'", '"a"', "\\u00e9", "\\ud800", "\\n", "+", "*", "**", "9", ".", "NaN", "~",
    "x", "resource", "is defined", "if", "else", "[0]", "Content-Type", '"X-A"', "\x00", "é", "\udc00",
]  # fmt: skip
template_like_text = st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join)
# Surrogates included: a str can hold them even though no valid text does.
any_text = st.text(st.characters(exclude_categories=()), max_size=60) | template_like_text


@SETTINGS
@given(text=any_text)
@example(text='{"a": "{{ resource.taskId }}"}')
@example(text='{"a": {{ eventData.items.0 | default(0) + 1 }}}')
@example(text='["\udc00"]')
def test_any_text_either_renders_valid_json_or_raises_a_template_error(text: str) -> None:
    try:
        body = PayloadTemplate(text).render(sample_variables())
    except TemplateError:
        return

    assert isinstance(body, bytes)
    strict_loads(body)


@SETTINGS
@given(text=any_text)
@example(text='{"X-A": "{{ resource.taskId }}", "content-type": "x"}')
def test_any_text_either_renders_text_headers_or_raises_a_template_error(text: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            headers = HeadersTemplate(text).render(sample_variables())
    except TemplateError:
        return

    assert all(type(name) is str and type(value) is str for name, value in headers.items())


@SETTINGS
@given(
    position=st.integers(0, len(DEFAULT_PAYLOAD_TEMPLATE)),
    fragment=st.sampled_from(_FRAGMENTS),
    cut=st.integers(0, 3),
)
def test_any_edit_of_the_default_template_either_renders_valid_json_or_raises_a_template_error(
    position: int, fragment: str, cut: int
) -> None:
    text = DEFAULT_PAYLOAD_TEMPLATE[:position] + fragment + DEFAULT_PAYLOAD_TEMPLATE[position + cut :]

    try:
        body = PayloadTemplate(text).render(sample_variables())
    except TemplateError:
        return

    strict_loads(body)


@SETTINGS
@given(text=st.text(alphabet=' \t\n"\\:,[]}0123456789.-+eEtrufalsn{u', max_size=40))
def test_text_without_placeholders_is_refused_whenever_python_json_refuses_it(text: str) -> None:
    try:
        expected = json.loads(text)
    except ValueError:
        with pytest.raises(TemplateError, match=r"\(line \d+, column \d+\)"):
            PayloadTemplate(text)
        return

    try:
        body = PayloadTemplate(text).render({})
    except TemplateJSONError:
        return  # stricter than Python on purpose: duplicate keys, lone surrogates
    assert same(strict_loads(body), expected)
