from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_thordata.exceptions import (
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariableError,
)
from airflow_provider_thordata.templating import PayloadTemplate
from airflow_provider_thordata.templating._expressions import (
    MAX_EXPONENT,
    MAX_REPEAT,
    _check_names,
    _compile,
    _parse,
    _plain_path,
    compile_placeholder,
    environment,
)
from airflow_provider_thordata.templating._parser import Placeholder
from airflow_provider_thordata.templating._source import SourceText


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate one expression the way a placeholder does."""
    text = "{{" + expression + "}}"
    return compile_placeholder(Placeholder(expression, 0), SourceText(text)).evaluate(variables)


def evaluate_compiled(expression: str, variables: Mapping[str, Any]) -> Any:
    """Evaluate one expression through Jinja's compiled template, never through the path shortcut."""
    source = SourceText("{{" + expression + "}}")
    placeholder = Placeholder(expression, 0)
    node = _parse(placeholder, source, environment())
    roots = _check_names(node, placeholder, source)
    return _compile(node, placeholder, source, environment(), roots)(variables)


DATA = {
    "eventData": {
        "items": [10, {"name": "first"}],
        "keys": "a field named keys",
        "prodect_id": 3,
        "zero": 0,
        "nothing": None,
    },
    "eventType": "SCRAPER.TASK.SUCCEEDED",
}


# -- lookups -------------------------------------------------------------------------------------


@pytest.mark.parametrize("lookup", [evaluate, evaluate_compiled])
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("eventData.items", [10, {"name": "first"}]),
        (" eventData . items . 0 ", 10),
        ("eventData.items.1.name", "first"),
        ("eventData['items'][1]['name']", "first"),
        ("eventData.keys", "a field named keys"),
        ("eventData.prodect_id", 3),
        ("eventData.zero", 0),
        ("eventData.nothing", None),
        ("eventData.missing", None),
        ("eventData.missing.deeper.still", None),
        ("eventData.items.5", None),
        ("eventData.items.0.name", None),
        ("eventData.values", None),
        ("resource", None),
        ("resource.taskId", None),
        ("eventType.nope", None),
    ],
)
def test_dots_reach_keys_before_attributes_and_list_indexes_and_missing_is_none(
    lookup: Any, expression: str, expected: Any
) -> None:
    assert lookup(expression, DATA) == expected


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("eventData.missing.deeper | default('none')", "none"),
        ("resource.csvUrl | default('no file')", "no file"),
        ("eventType | lower", "scraper.task.succeeded"),
        ("eventType.lower()", "scraper.task.succeeded"),
        ("eventData.items | length", 2),
        ("eventData.items.0 + 1", 11),
        ("'yes' if eventData.zero is defined else 'no'", "yes"),
        ("'yes' if eventData.missing is defined else 'no'", "no"),
        ("eventData.items | map(attribute='name') | select | list", ["first"]),
        ("{'type': eventType}", {"type": "SCRAPER.TASK.SUCCEEDED"}),
        ("1 + 1", 2),
        ("'{{'", "{{"),
        ("-1", -1),
    ],
)
def test_expressions_use_jinja_filters_tests_and_operators(expression: str, expected: Any) -> None:
    assert evaluate(expression, DATA) == expected


def test_a_list_index_reads_the_item_and_a_missing_item_of_a_chain_stays_undefined_for_default() -> None:
    assert evaluate("eventData.items.1.missing.more | default(7)", DATA) == 7


# -- the sandbox ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "eventType | attr('__class__')",
        "eventType['__cla' ~ 'ss__']",
        "eventData.items.append",
        "eventData | attr('items')",
    ],
)
def test_python_internals_and_mutating_methods_are_out_of_reach(expression: str) -> None:
    value = evaluate(expression, DATA)

    assert value is None or value == DATA["eventData"]["items"]  # the field, never the dict method


def test_calling_a_mutating_method_fails_and_leaves_the_data_unchanged() -> None:
    data = {"eventData": {"items": [1]}}
    template = PayloadTemplate("{{ eventData.items.append(2) }}")

    with pytest.raises(TemplateRenderError, match="failed: SecurityError: access to attribute 'append'"):
        template.render(data)

    assert data == {"eventData": {"items": [1]}}


def test_str_format_cannot_reach_attributes_behind_the_sandbox() -> None:
    template = PayloadTemplate("{{ '{0.__class__}'.format(eventType) }}")

    assert template.render(DATA) == b'""'


def test_undefined_items_inside_a_built_value_render_as_null() -> None:
    template = PayloadTemplate(
        "{{ [eventData.zero, eventData.missing, eventData.items | map(attribute='name') | list] }}"
    )

    assert template.render(DATA) == b'[0,null,[null,"first"]]'


def test_dict_methods_are_not_reachable_use_filters_instead() -> None:
    template = PayloadTemplate("{{ eventData.get('zero') }}")

    with pytest.raises(TemplateRenderError, match="UndefinedError"):
        template.render(DATA)


@pytest.mark.parametrize("expression", ["eventType.__class__", "eventData['__dict__']", "eventType._private"])
def test_names_starting_with_an_underscore_are_refused_when_the_template_is_built(expression: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="names starting with '_' are not reachable") as caught:
        PayloadTemplate('{"a":\n  {{ ' + expression + " }}}")

    assert (caught.value.line, caught.value.column) == (2, 3)


def test_huge_powers_and_repetitions_are_refused_and_small_ones_work() -> None:
    assert evaluate(f"2 ** {MAX_EXPONENT}", {}) == 2**MAX_EXPONENT
    assert evaluate("'-' * 3", {}) == "---"

    with pytest.raises(TemplateRenderError, match="exponent above"):
        PayloadTemplate("{{ 9 ** (9 ** 9) }}").render({})
    with pytest.raises(TemplateRenderError, match=f"more than {MAX_REPEAT} items"):
        PayloadTemplate("{{ [0] * 2000000 }}").render({})


# -- validation at construction -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "variable"),
    [
        ("TasksID", "TasksID"),
        ("resource.taskId ~ task", "task"),
        ("resource | default(fallback)", "fallback"),
        ("range(3) | list", "range"),
        ("_secret", "_secret"),
    ],
)
def test_every_name_an_expression_reads_must_be_an_allowed_root(expression: str, variable: str) -> None:
    text = '{\n  "a": "x {{ ' + expression + ' }}"\n}'

    with pytest.raises(UnknownVariableError, match=f"unknown variable '{variable}'") as caught:
        PayloadTemplate(text)

    assert caught.value.variable == variable
    assert (caught.value.line, caught.value.column) == (2, 11)
    assert "the variables are userId, createdAt, eventType, eventData, resource, globals, airflow" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("  ", "empty placeholder"),
        ("resource.", "invalid expression in placeholder {{resource.}}: expected name or number"),
        (
            "resource resource",
            "invalid expression in placeholder {{resource resource}}: unexpected 'resource'",
        ),
        ("resource | nosuchfilter", "No filter named 'nosuchfilter'"),
        ("resource is nosuchtest", "No test named 'nosuchtest'"),
        ("x = 1", "invalid expression"),
        ("1" + " + 1" * 60, "is too complex (more than 50 levels of operations)"),
        ("-" * 5000 + "1", "is nested too deeply"),
    ],
)
def test_malformed_expressions_are_refused_when_the_template_is_built(expression: str, message: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=re.escape(message)):
        PayloadTemplate("{{" + expression + "}}")


def test_plain_paths_take_the_shortcut_and_everything_else_is_compiled() -> None:
    def path_of(expression: str) -> object:
        placeholder = Placeholder(expression, 0)
        return _plain_path(_parse(placeholder, SourceText(expression), environment()))

    assert path_of("eventData.items.0['name']") == (
        "eventData",
        ((True, "items"), (False, 0), (False, "name")),
    )
    assert path_of("resource") == ("resource", ())
    assert path_of("resource.taskId | lower") is None
    assert path_of("resource[1 + 1]") is None
    assert path_of("resource.taskId()") is None


# -- messages never quote data -------------------------------------------------------------------


class _Exploding(Mapping[str, Any]):
    """A mapping whose lookups fail with a message that holds a secret."""

    def __getitem__(self, key: str) -> Any:
        raise ValueError("token=s3cr3t")

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def test_an_error_that_may_quote_the_data_is_reported_by_its_type_only_and_not_chained() -> None:
    template = PayloadTemplate('{"a": "{{ resource.apiKey }}"}')

    with pytest.raises(TemplateRenderError, match="ValueError raised while evaluating it") as caught:
        template.render({"resource": _Exploding()})

    assert "s3cr3t" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


# -- the shortcut equals the sandbox -------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "items", "keys", "0", "upper"])
_data = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.text("ab", max_size=2),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=4),
    max_leaves=12,
)
_steps = st.lists(
    st.one_of(
        _keys.filter(str.isidentifier).map(lambda key: "." + key),
        st.integers(0, 3).map(lambda index: f".{index}"),
        _keys.map(lambda key: f"['{key}']"),
    ),
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(data=_data, steps=_steps)
def test_the_plain_path_shortcut_gives_exactly_what_the_compiled_expression_gives(
    data: Any, steps: list[str]
) -> None:
    expression = "eventData" + "".join(steps)
    variables = {"eventData": data}

    shortcut = evaluate(expression, variables)
    compiled = evaluate_compiled(expression, variables)

    assert type(shortcut) is type(compiled)
    assert shortcut == compiled or (callable(shortcut) and callable(compiled))
