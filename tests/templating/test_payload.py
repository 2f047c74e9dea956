from __future__ import annotations

import copy
import datetime
import json
import pickle
import re
import threading
from typing import Any

import pytest

from airflow_provider_thordata.exceptions import (
    TemplateError,
    TemplateJSONError,
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariableError,
)
from airflow_provider_thordata.templating import (
    DEFAULT_PAYLOAD_TEMPLATE,
    PayloadTemplate,
    _expressions,
    _parser,
)


def render(text: str, variables: dict[str, Any]) -> Any:
    """Render ``text`` and read the body back as JSON."""
    return json.loads(PayloadTemplate(text).render(variables))


# -- rule 4: where a placeholder may stand ---------------------------------------------------------


def test_a_bare_placeholder_gives_the_json_value_of_the_variable(variables: dict[str, Any]) -> None:
    body = render(
        '{"data": {{ eventData }}, "size": {{resource.fileSize}}, "list": [{{ userId }}]}', variables
    )

    assert body == {"data": variables["eventData"], "size": 1765, "list": ["3406"]}


def test_the_whole_template_may_be_one_placeholder(variables: dict[str, Any]) -> None:
    assert (
        PayloadTemplate("{{ resource }}").render(variables)
        == json.dumps(variables["resource"], separators=(",", ":"), ensure_ascii=False).encode()
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}),
        ([1, "x"], [1, "x"]),
        (1765, 1765),
        (2.5, 2.5),
        (True, True),
        (False, False),
        (0, 0),
        ("", ""),
        (None, None),
    ],
)
def test_a_whole_string_placeholder_keeps_the_type_of_the_value(value: Any, expected: Any) -> None:
    body = render('{"v": "{{ eventData }}"}', {"eventData": value})

    assert body == {"v": expected}
    assert type(body["v"]) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text", "<text>"),
        (1765, "<1765>"),
        (2.5, "<2.5>"),
        (True, "<true>"),
        (False, "<false>"),
        (0, "<0>"),
        (None, "<>"),
        ({"a": [1, "é"]}, '<{"a":[1,"é"]}>'),
        ([1, None], "<[1,null]>"),
    ],
)
def test_a_placeholder_inside_a_longer_string_splices_in_its_text_form(value: Any, expected: str) -> None:
    assert render('{"v": "<{{ eventData }}>"}', {"eventData": value}) == {"v": expected}


def test_a_missing_variable_or_field_is_null_as_a_value_and_empty_inside_a_string() -> None:
    body = render(
        '{"a": {{ resource.nope }}, "b": "{{ resource.nope.deeper }}", "c": "x{{ globals.dateISO }}y"}',
        {"resource": {}},
    )

    assert body == {"a": None, "b": None, "c": "xy"}


def test_spliced_text_is_escaped_so_the_output_stays_valid_json() -> None:
    value = 'quote " backslash \\ newline \n tab \t nul \x00 unicode é 😀 end\\'

    body = PayloadTemplate('"[{{ eventType }}]"').render({"eventType": value})

    assert json.loads(body) == f"[{value}]"


def test_placeholders_read_from_the_decoded_string_so_an_escaped_quote_is_a_quote(
    variables: dict[str, Any],
) -> None:
    body = render(r'{"a": "{{ resource.nope | default(\"n/a\") }} \u00e9"}', variables)

    assert body == {"a": "n/a é"}


def test_filters_work_in_every_position(variables: dict[str, Any]) -> None:
    body = render(
        '{"t": {{ eventType | lower }}, "u": "{{ resource.csvUrl | default(\\"none\\") | length > 0 }}",'
        ' "s": "type={{ eventType | replace(\\".\\", \\"/\\") }}"}',
        variables,
    )

    assert body == {"t": "scraper.task.succeeded", "u": True, "s": "type=SCRAPER/TASK/SUCCEEDED"}


# -- rule 5: JSON apart from placeholders, validated once -------------------------------------------


def test_the_output_is_compact_utf8_json_with_literal_numbers_kept_as_written() -> None:
    text = (
        '{\n  "name" : "caf\\u00e9 \\/ ok",\n'
        '  "n": [1.50, 1E+2, -0, 12345678901234567890123],\n  "t": true\n}'
    )

    body = PayloadTemplate(text).render({})

    assert body == '{"name":"café / ok","n":[1.50,1E+2,-0,12345678901234567890123],"t":true}'.encode()


def test_a_template_without_placeholders_renders_the_same_bytes_every_time() -> None:
    template = PayloadTemplate('{"a": [1, 2]}')

    assert template.render({}) is template.render({"userId": "x"})


def test_invalid_json_is_reported_with_line_column_and_an_excerpt() -> None:
    text = '{\n  "userId": "{{userId}}"\n  "eventType": "{{eventType}}"\n}'

    with pytest.raises(TemplateJSONError, match="missing ',' after the value of 'userId'") as caught:
        PayloadTemplate(text)

    assert (caught.value.line, caught.value.column) == (3, 3)
    assert str(caught.value).endswith('   3 |   "eventType": "{{eventType}}"\n     |   ^')


def test_rendering_does_no_parsing_nor_compiling(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, Any]
) -> None:
    template = PayloadTemplate('{"a": "x {{ eventType | lower }}", "b": {{ resource.taskId }}}')
    expected = template.render(variables)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("parsed or compiled during render")

    monkeypatch.setattr(_parser, "parse", refuse)
    monkeypatch.setattr(_parser, "expression_end", refuse)
    monkeypatch.setattr(_expressions, "compile_placeholder", refuse)
    monkeypatch.setattr(_expressions, "_parse", refuse)
    monkeypatch.setattr(_expressions, "_compile", refuse)
    monkeypatch.setattr(_expressions.Parser, "parse_expression", refuse)
    monkeypatch.setattr(_expressions.PlaceholderEnvironment, "from_string", refuse)

    assert template.render(variables) == expected


def test_an_empty_template_is_an_error() -> None:
    with pytest.raises(TemplateJSONError, match="the template is empty"):
        PayloadTemplate("  \n ")


def test_a_template_must_be_text() -> None:
    with pytest.raises(TypeError, match="a payload template is text"):
        PayloadTemplate(b'{"a": 1}')  # type: ignore[arg-type]


# -- rule 6 and the six defects of the older parser ------------------------------------------------


@pytest.mark.parametrize("literal", ["0", "false", '""', "0.0", "[]", "{}"])
def test_defect_1_unquoted_zero_false_and_empty_string_keep_their_values(literal: str) -> None:
    assert PayloadTemplate(f'{{"a": {literal}, "b": "{{{{userId}}}}"}}').render({"userId": "u"}) == (
        f'{{"a":{literal},"b":"u"}}'.encode()
    )


@pytest.mark.parametrize("value", [0, False, ""])
def test_defect_1_substituted_zero_false_and_empty_string_keep_their_values(value: Any) -> None:
    assert render('{"bare": {{ eventData }}, "whole": "{{ eventData }}"}', {"eventData": value}) == {
        "bare": value,
        "whole": value,
    }


def test_defect_2_names_with_underscores_are_placeholders(variables: dict[str, Any]) -> None:
    body = render('{"whole": "{{resource.prodect_id}}", "inside": "id {{resource.prodect_id}}"}', variables)

    assert body == {"whole": 3, "inside": "id 3"}


def test_defect_3_a_string_ending_in_a_backslash_does_not_hide_the_next_placeholder() -> None:
    body = render(
        '{"path": "C:\\\\", "user": {{ userId }}, "again": "\\\\", "id": "{{userId}}"}', {"userId": "u"}
    )

    assert body == {"path": "C:\\", "user": "u", "again": "\\", "id": "u"}


def test_defect_3_substituted_text_ending_in_a_backslash_does_not_shift_later_placeholders() -> None:
    body = render('["a {{ eventType }}", "{{ userId }}"]', {"eventType": "ends with \\", "userId": "u"})

    assert body == ["a ends with \\", "u"]


@pytest.mark.parametrize(
    "text",
    [
        '{"v": {{ resource.fileName }}}',
        '{"v": "{{ resource.fileName }}"}',
        '{"v": "name: {{ resource.fileName }}"}',
    ],
)
def test_defect_4_substituted_data_is_never_scanned_again(text: str) -> None:
    data = "{{TasksID}}.json {{ userId }} {% if %} {# c #} {{"

    body = render(text, {"resource": {"fileName": data}, "userId": "must-not-appear"})

    assert data in body["v"]
    assert "must-not-appear" not in json.dumps(body)


@pytest.mark.parametrize(
    ("text", "position"),
    [('{"a": "{{ userId"}', (1, 8)), ('{"a": {{ userId }', (1, 7)), ("[\n  {{ userId", (2, 3))],
)
def test_defect_5_an_unterminated_placeholder_has_a_clear_message_and_position(
    text: str, position: tuple[int, int]
) -> None:
    with pytest.raises(
        TemplateSyntaxError, match=r"^unterminated placeholder: this '\{\{' has no closing '\}\}'"
    ) as caught:
        PayloadTemplate(text)

    assert (caught.value.line, caught.value.column) == position


def test_defect_6_an_embedded_object_renders_as_json_not_as_object_object(variables: dict[str, Any]) -> None:
    body = render('{"whole": "{{ eventData }}", "inside": "data={{ eventData }}"}', variables)

    assert body["whole"] == variables["eventData"]
    assert body["inside"] == "data=" + json.dumps(variables["eventData"], separators=(",", ":"))


# -- rule 8: the default payload -------------------------------------------------------------------


def test_the_default_template_renders_the_seed_example_shape(variables: dict[str, Any]) -> None:
    body = PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE).render(variables)

    assert json.loads(body) == {
        key: variables[key] for key in ("userId", "createdAt", "eventType", "eventData", "resource")
    }
    assert list(json.loads(body)) == ["userId", "createdAt", "eventType", "eventData", "resource"]


# -- rule 9: errors while rendering ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "variables", "message"),
    [
        (
            '{\n  "n": {{ userId + 1 }}}',
            {"userId": "3406"},
            "placeholder {{ userId + 1 }} at line 2, column 8 failed: TypeError",
        ),
        ('{"n": {{ resource.nope + 1 }}}', {"resource": {}}, "failed: UndefinedError"),
        ('{"n": {{ globals.dateUnix / 0 }}}', {"globals": {"dateUnix": 1}}, "failed: ZeroDivisionError"),
        ('{"d": "{{ createdAt }}"}', {"createdAt": datetime.datetime(2025, 6, 7)}, "it produced a datetime"),
        (
            '{"d": "at {{ createdAt }}"}',
            {"createdAt": datetime.datetime(2025, 6, 7)},
            "it produced a datetime",
        ),
        ('{"s": {{ eventData }}}', {"eventData": {"tags": {"a"}}}, "it produced a set"),
        (
            '{"g": {{ eventData | map("upper") }}}',
            {"eventData": ["a"]},
            "it produced a generator (add '| list')",
        ),
        ('{"f": {{ eventData }}}', {"eventData": float("nan")}, "NaN or infinity"),
        ('{"f": "x{{ eventData }}"}', {"eventData": [float("inf")]}, "Out of range float values"),
        ('{"u": "{{ eventType }}"}', {"eventType": "\ud800"}, "unpaired surrogate"),
        ('{"k": {{ eventData }}}', {"eventData": {(1, 2): "tuple key"}}, "TypeError: keys must be"),
    ],
)
def test_a_placeholder_failing_on_the_data_raises_a_render_error_naming_it_and_its_position(
    text: str, variables: dict[str, Any], message: str
) -> None:
    template = PayloadTemplate(text)

    with pytest.raises(TemplateRenderError, match=re.escape(message)) as caught:
        template.render(variables)

    assert caught.value.line is not None
    assert caught.value.column is not None


def test_a_value_that_contains_itself_is_a_render_error() -> None:
    loop: dict[str, Any] = {}
    loop["self"] = loop

    with pytest.raises(TemplateRenderError, match="Circular reference"):
        PayloadTemplate("{{ eventData }}").render({"eventData": loop})


def test_a_value_nested_beyond_the_recursion_limit_is_a_render_error() -> None:
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]

    with pytest.raises(TemplateRenderError, match="nested too deeply"):
        PayloadTemplate('"x{{ eventData }}"').render({"eventData": deep})


@pytest.mark.parametrize("variables", [None, ["userId"], "userId"])
def test_variables_must_be_a_mapping(variables: Any) -> None:
    with pytest.raises(TemplateRenderError, match="variables must be a mapping"):
        PayloadTemplate("{{ userId }}").render(variables)


def test_a_mapping_with_non_text_keys_still_renders_and_only_raises_template_errors() -> None:
    template = PayloadTemplate('{"a": {{ userId | default("x") }}, "b": "{{ userId }}"}')

    assert json.loads(template.render({1: "one", "userId": "u"})) == {"a": "u", "b": "u"}  # type: ignore[dict-item]


def test_every_template_error_subclass_is_a_value_error_with_position_attributes() -> None:
    with pytest.raises(UnknownVariableError, match="unknown variable 'nope'") as caught:
        PayloadTemplate('{"a": "{{ nope }}"}')

    assert isinstance(caught.value, TemplateError)
    assert isinstance(caught.value, ValueError)
    assert (caught.value.line, caught.value.column, caught.value.variable) == (1, 8, "nope")


# -- the object itself -------------------------------------------------------------------------------


def test_a_template_is_immutable_copies_to_itself_and_pickles_by_its_text(variables: dict[str, Any]) -> None:
    template = PayloadTemplate(DEFAULT_PAYLOAD_TEMPLATE)

    with pytest.raises(AttributeError, match="immutable"):
        template.text = "{}"  # type: ignore[misc]
    assert copy.copy(template) is template
    assert copy.deepcopy({"t": template})["t"] is template
    restored = pickle.loads(pickle.dumps(template))  # noqa: S301 (our own object)
    assert restored == template
    assert hash(restored) == hash(template)
    assert restored.render(variables) == template.render(variables)
    assert repr(template).startswith("PayloadTemplate('{")


def test_roots_lists_the_variables_a_template_reads() -> None:
    template = PayloadTemplate(
        '{"a": "{{ resource.taskId }} {{ airflow.dag_id | default(eventType) }}", "b": 1}'
    )

    assert template.roots == {"resource", "airflow", "eventType"}


def test_one_template_renders_from_many_threads_at_once() -> None:
    template = PayloadTemplate('{"id": "{{ eventData.n }}", "text": "n={{ eventData.n | string | upper }}"}')
    results: dict[int, bytes] = {}

    def work(number: int) -> None:
        for _ in range(200):
            results[number] = template.render({"eventData": {"n": number}})

    threads = [threading.Thread(target=work, args=(number,)) for number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {number: f'{{"id":{number},"text":"n={number}"}}'.encode() for number in range(8)}
