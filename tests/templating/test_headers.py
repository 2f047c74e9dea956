from __future__ import annotations

import copy
import pickle
import re
import warnings
from typing import Any

import pytest

from airflow_provider_thordata.exceptions import (
    HeaderTemplateError,
    ReservedHeaderWarning,
    TemplateError,
    TemplateRenderError,
    UnknownVariableError,
)
from airflow_provider_thordata.templating import RESERVED_HEADERS, HeadersTemplate


def test_header_values_render_as_text_whole_string_placeholders_too(variables: dict[str, Any]) -> None:
    template = HeadersTemplate(
        '{"X-Task-Id": "{{ resource.taskId }}", "X-Size": "{{resource.fileSize}}",'
        ' "X-Done": "{{ resource.fileSize > 0 }}",'
        ' "X-Run": "run {{ airflow.run_id }}/{{ airflow.try_number }}",'
        ' "X-Missing": "{{ resource.nope }}", "X-Static": "fixed"}'
    )

    headers = template.render(variables)

    assert headers == {
        "X-Task-Id": "2e9ddee0582a40a9b1f459831b1419e1",
        "X-Size": "1765",
        "X-Done": "true",
        "X-Run": "run manual__2025-06-07T06:30:00+00:00/1",
        "X-Missing": "",
        "X-Static": "fixed",
    }
    assert all(type(value) is str for value in headers.values())


def test_an_empty_object_renders_no_headers() -> None:
    assert HeadersTemplate("{}").render({}) == {}


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        (
            '{"X-Size": {{ resource.fileSize }}}',
            "the value of the header 'X-Size' must be a JSON string",
            (1, 12),
        ),
        ('{"X-Size": 1765}', "the value of the header 'X-Size' must be a JSON string", (1, 12)),
        ('{"X-A": null}', "the value of the header 'X-A' must be a JSON string", (1, 9)),
        ('{"X-A": ["a"]}', "the value of the header 'X-A' must be a JSON string", (1, 9)),
        ('["X-A"]', "a header template must be a JSON object", (1, 1)),
        ('"{{ resource }}"', "a header template must be a JSON object", (1, 1)),
        ("{{ eventData }}", "a header template must be a JSON object", (1, 1)),
        ('{"X Task": "a"}', "'X Task' is not a valid header name", (1, 2)),
        ('{"X-Task:": "a"}', "'X-Task:' is not a valid header name", (1, 2)),
        ('{"": "a"}', "'' is not a valid header name", (1, 2)),
        ('{"X-Täsk": "a"}', "'X-Täsk' is not a valid header name", (1, 2)),
        ('{"X-A": "a",\n "x-a": "b"}', "the header 'x-a' is set twice (first at line 1, column 2)", (2, 2)),
        (
            '{"X-A": "line\\nbreak"}',
            "the value of the header 'X-A' contains a line break, NUL or other control",
            (1, 9),
        ),
        ('{"X-A": "a\\r"}', "the value of the header 'X-A' contains a line break", (1, 9)),
        ('{"X-A": "a\\u0000"}', "the value of the header 'X-A' contains a line break, NUL", (1, 9)),
    ],
)
def test_header_rules_are_checked_when_the_template_is_built(
    text: str, message: str, position: tuple[int, int]
) -> None:
    with pytest.raises(HeaderTemplateError, match=re.escape(message)) as caught:
        HeadersTemplate(text)

    assert (caught.value.line, caught.value.column) == position


def test_a_header_error_names_the_header() -> None:
    with pytest.raises(HeaderTemplateError, match="X-Size") as caught:
        HeadersTemplate('{"X-Size": 1}')

    assert caught.value.header == "X-Size"


@pytest.mark.parametrize("name", sorted(RESERVED_HEADERS))
def test_a_reserved_header_warns_at_construction_and_is_dropped_from_the_result(name: str) -> None:
    text = '{"X-Keep": "yes",\n  "' + name.upper() + '": "{{ userId }}"}'

    with pytest.warns(ReservedHeaderWarning, match=f"sets '{name.upper()}' .line 2, column 3.") as caught:
        template = HeadersTemplate(text)

    assert template.render({"userId": "u"}) == {"X-Keep": "yes"}
    warning = caught[0].message
    assert isinstance(warning, ReservedHeaderWarning)
    assert (warning.header, warning.line, warning.column) == (name.upper(), 2, 3)
    assert caught[0].filename == __file__


def test_a_reserved_header_is_still_validated() -> None:
    with pytest.raises(UnknownVariableError, match="unknown variable 'nope'"):
        HeadersTemplate('{"Content-Type": "{{ nope }}"}')


@pytest.mark.parametrize(
    ("value", "kind"), [({"a": 1}, "an object"), ([1, 2], "an array"), ((1,), "an array")]
)
def test_a_value_rendering_to_an_object_or_array_is_an_error_naming_the_header(value: Any, kind: str) -> None:
    template = HeadersTemplate('{"X-Data":\n "{{ eventData }}"}')

    with pytest.raises(
        HeaderTemplateError, match=f"the header 'X-Data': placeholder .* produced {kind}"
    ) as caught:
        template.render({"eventData": value})

    assert (caught.value.header, caught.value.line, caught.value.column) == ("X-Data", 2, 3)


@pytest.mark.parametrize("text", ["a\r\nX-Injected: 1", "a\nb", "nul\x00", "bell\x07", "del\x7f"])
def test_a_value_rendering_to_text_with_control_characters_is_an_error_naming_the_header(text: str) -> None:
    template = HeadersTemplate('{"X-Name": "name={{ resource.userName }}"}')

    with pytest.raises(
        HeaderTemplateError, match=r"the header 'X-Name': .* line break, NUL or other control"
    ) as caught:
        template.render({"resource": {"userName": text}})

    assert caught.value.header == "X-Name"


def test_a_tab_and_non_ascii_text_are_allowed_in_values() -> None:
    template = HeadersTemplate('{"X-Name": "{{ resource.userName }}"}')

    assert template.render({"resource": {"userName": "a\tb é"}}) == {"X-Name": "a\tb é"}


def test_a_placeholder_failing_on_the_data_is_a_render_error() -> None:
    template = HeadersTemplate('{"X-N": "{{ userId + 1 }}"}')

    with pytest.raises(
        TemplateRenderError,
        match=re.escape("placeholder {{ userId + 1 }} at line 1, column 10 failed: TypeError"),
    ):
        template.render({"userId": "u"})


@pytest.mark.parametrize(
    "text",
    [
        '{"Authorization": "Bearer s3cr3t" "X-B": "b"}',
        '{"Authorization": "Bearer s3cr3t {{ nope }}"}',
        '{"Authorization": "Bearer s3cr3t\\q"}',
        '{"Authorization": "Bearer s3cr3t',
        '{"Authorization": Bearer s3cr3t}',
        '{"Authorization": "Bearer s3cr3t", "X-A": 1}',
        '{"Authorization": "Bearer s3cr3t", "X-A": "{{ userId }}", "x-a": ""}',
        '{"Authorization": ["Bearer s3cr3t"]}',
    ],
)
def test_error_messages_never_show_header_values(text: str) -> None:
    with pytest.raises(TemplateError, match=r"\(line 1, column \d+\)") as caught:
        HeadersTemplate(text)

    assert "s3cr3t" not in str(caught.value)
    assert caught.value.line == 1


def test_a_header_template_copies_to_itself_and_pickles_without_warning_again() -> None:
    with pytest.warns(ReservedHeaderWarning, match="Host"):
        template = HeadersTemplate('{"Host": "x", "X-A": "{{ userId }}"}')

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        restored = pickle.loads(pickle.dumps(template))  # noqa: S301 (our own object)

    assert restored == template
    assert restored.render({"userId": "u"}) == {"X-A": "u"}
    assert copy.deepcopy(template) is template
    assert template.roots == {"userId"}
    assert "s3cr3t" not in repr(HeadersTemplate('{"Authorization": "s3cr3t"}'))
