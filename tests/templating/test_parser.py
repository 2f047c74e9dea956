from __future__ import annotations

import re

import pytest

from airflow_provider_thordata.exceptions import TemplateError, TemplateJSONError, TemplateSyntaxError
from airflow_provider_thordata.templating._parser import (
    MAX_EXPRESSION_NESTING,
    MAX_NESTING,
    Array,
    Bare,
    Member,
    Object,
    Placeholder,
    Scalar,
    String,
    parse,
)
from airflow_provider_thordata.templating._source import SourceText


def parse_text(text: str) -> object:
    return parse(SourceText(text))


def error_of(text: str) -> TemplateError:
    with pytest.raises(TemplateError, match=r"\(line \d+, column \d+\)\n") as caught:
        parse_text(text)
    return caught.value


# -- JSON ----------------------------------------------------------------------------------------


def test_plain_json_becomes_a_tree_with_offsets() -> None:
    text = '{"a": [1, true, null], "b": "x"}'

    tree = parse_text(text)

    assert tree == Object(
        (
            Member("a", 1, Array((Scalar("1", 7), Scalar("true", 10), Scalar("null", 16)), 6)),
            Member("b", 23, String(("x",), 28, 31)),
        ),
        0,
    )


@pytest.mark.parametrize(
    "number", ["0", "-0", "12", "-3.25", "1e6", "1E+2", "2.5e-3", "123456789012345678901234567890"]
)
def test_numbers_are_kept_exactly_as_written(number: str) -> None:
    tree = parse_text(f"[{number}]")

    assert tree == Array((Scalar(number, 1),), 0)


def test_string_escapes_are_decoded() -> None:
    tree = parse_text(r'"q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00"')

    assert tree == String(('q" b\\ s/ \b\f\n\r\t é 😀',), 0, 44)


def test_whitespace_around_and_inside_is_allowed() -> None:
    text = ' \t\r\n{ "a" :\n [ ] , "b" : { } }\n '

    tree = parse_text(text)

    assert tree == Object(
        (
            Member("a", text.index('"a"'), Array((), text.index("["))),
            Member("b", text.index('"b"'), Object((), text.index("{ }"))),
        ),
        text.index("{"),
    )


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "the template is empty", (1, 1)),
        (" \n  ", "the template is empty", (2, 3)),
        ('{"a": 1,}', "trailing comma: remove the ',' before '}'", (1, 8)),
        ("[1, 2,]", "trailing comma: remove the ',' before ']'", (1, 6)),
        ('{"a" 1}', "expected ':' after the key 'a'", (1, 6)),
        ('{"a": 1 "b": 2}', "missing ',' after the value of 'a'", (1, 9)),
        ('{"a": 1 ]', "expected ',' or '}' after the value of 'a'", (1, 9)),
        ('{"a": 1', "unterminated object: the '{' at line 1, column 1 is never closed", (1, 8)),
        ("[1 2]", "expected ',' or ']' after an array item, found '2'", (1, 4)),
        ("[1,\n2", "unterminated array: the '[' at line 1, column 1 is never closed", (2, 2)),
        ('{"a": "b', "unterminated string: the '\"' at line 1, column 7 is never closed", (1, 9)),
        ('"a\nb"', "a line break cannot appear raw inside a JSON string", (1, 3)),
        ('"a\x01"', "the control character U+0001 cannot appear raw inside a JSON string", (1, 3)),
        (r'"a\qb"', "invalid escape '\\q' in a string", (1, 3)),
        (r'"\u12"', "invalid \\u escape: it needs exactly four hex digits", (1, 2)),
        (r'"a\ud800b"', "unpaired surrogate escape", (1, 3)),
        (r'"\udc00"', "unpaired surrogate escape", (1, 2)),
        ('"a\\', "unterminated string: it ends in a backslash", (1, 3)),
        ("{'a': 1}", "single quotes are not JSON: write keys in double quotes", (1, 2)),
        ("{\"a\": 'b'}", "single quotes are not JSON: write strings in double quotes", (1, 7)),
        ("{a: 1}", "expected a key in double quotes, found 'a'", (1, 2)),
        (
            '{"a": b}',
            "unexpected word 'b': strings need double quotes, and placeholders double braces",
            (1, 7),
        ),
        ("[True]", "'True' is Python, not JSON: write true, false or null", (1, 2)),
        ("[NaN]", "NaN is not JSON", (1, 2)),
        ("[-Infinity]", "Infinity is not JSON", (1, 2)),
        ("[01]", "invalid number '01'", (1, 2)),
        ("[1.]", "invalid number '1.'", (1, 2)),
        ("[.5]", "invalid number '.5'", (1, 2)),
        ("[+1]", "invalid number '+1'", (1, 2)),
        ("[1x]", "invalid number '1x'", (1, 2)),
        ("[,1]", "expected a value before ','", (1, 2)),
        ('{"a": }', "expected a value before '}'", (1, 7)),
        ("[1] [2]", "unexpected text after the end of the JSON value", (1, 5)),
        (
            "[1, @]",
            "expected a JSON value (object, array, string, number, true, false, null)"
            " or a {{ placeholder }}, found '@'",
            (1, 5),
        ),
        (
            '{"a": 1, "a": 2}',
            "duplicate key 'a' (first at line 1, column 2): each key may appear once",
            (1, 10),
        ),
    ],
)
def test_json_errors_give_the_problem_the_position_and_an_excerpt_with_a_caret(
    text: str, message: str, position: tuple[int, int]
) -> None:
    error = error_of(text)

    assert isinstance(error, TemplateJSONError)
    assert error.message.startswith(message)
    assert (error.line, error.column) == position
    line, column = position
    assert f"(line {line}, column {column})\n" in error.message
    assert error.message.endswith(" " * (column - 1) + "^")


@pytest.mark.parametrize("text", ['"\ud800"', '{"a": 1, "\udfff": 2}', "[\ud83d]"])
def test_raw_unpaired_surrogates_in_the_text_are_refused(text: str) -> None:
    with pytest.raises(TemplateJSONError, match="the text holds an unpaired surrogate") as caught:
        parse_text(text)

    assert caught.value.column == text.index(next(char for char in text if "\ud800" <= char <= "\udfff")) + 1


def test_objects_and_arrays_nested_too_deeply_are_refused_instead_of_exhausting_the_stack() -> None:
    ok = "[" * MAX_NESTING + "]" * MAX_NESTING

    parse_text(ok)

    with pytest.raises(TemplateJSONError, match=f"nested deeper than {MAX_NESTING} levels"):
        parse_text("[" * 100_000)


# -- placeholders --------------------------------------------------------------------------------


def test_a_bare_placeholder_may_stand_wherever_a_value_may() -> None:
    tree = parse_text('{"a": {{ userId }}, "b": [{{resource}}]}')

    assert tree == Object(
        (
            Member("a", 1, Bare(Placeholder(" userId ", 6), 6)),
            Member("b", 20, Array((Bare(Placeholder("resource", 26), 26),), 25)),
        ),
        0,
    )


def test_the_whole_template_may_be_one_placeholder() -> None:
    assert parse_text("  {{ resource }}\n") == Bare(Placeholder(" resource ", 2), 2)


def test_a_string_splits_into_literal_text_and_placeholders() -> None:
    tree = parse_text('"id {{ resource.taskId }} of {{userId}}!"')

    assert tree == String(
        ("id ", Placeholder(" resource.taskId ", 4), " of ", Placeholder("userId", 29), "!"), 0, 41
    )
    assert tree.whole_placeholder is None


def test_a_string_that_is_exactly_one_placeholder_is_a_whole_string_placeholder() -> None:
    tree = parse_text('"{{ eventData }}"')

    assert isinstance(tree, String)
    assert tree.whole_placeholder == Placeholder(" eventData ", 1)


def test_placeholders_inside_strings_are_read_from_the_decoded_text() -> None:
    text = r'{"a": "\u00e9\"{{ resource.x | default(\"n/a\") }}\\"}'

    tree = parse_text(text)

    assert isinstance(tree, Object)
    value = tree.members[0].value
    assert isinstance(value, String)
    assert value.parts == ('é"', Placeholder(' resource.x | default("n/a") ', text.index("{{")), "\\")


def test_double_braces_inside_an_expression_string_or_brackets_do_not_end_the_placeholder() -> None:
    text = "[{{ '}}' }}, {{ {'a': {'b': 1}} }}, {{ x[0] }}]"

    tree = parse_text(text)

    assert isinstance(tree, Array)
    assert [item.placeholder.expression for item in tree.items] == [  # type: ignore[union-attr]
        " '}}' ",
        " {'a': {'b': 1}} ",
        " x[0] ",
    ]


def test_a_closing_brace_of_the_json_right_after_a_placeholder_is_not_part_of_it() -> None:
    tree = parse_text('{"a":{{userId}}}')

    assert tree == Object((Member("a", 1, Bare(Placeholder("userId", 5), 5)),), 0)


def test_single_braces_and_closing_braces_in_strings_are_literal_text() -> None:
    tree = parse_text('"{a} }} {"')

    assert tree == String(("{a} }} {",), 0, 10)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ('{"a": {{ userId }', "unterminated placeholder: this '{{' has no closing '}}'", (1, 7)),
        ('"x {{ userId "', "unterminated placeholder: this '{{' has no closing '}}'", (1, 4)),
        (
            "{{ x[0 }}",
            "unexpected '}' inside the placeholder: the '[' at line 1, column 5 is not closed",
            (1, 8),
        ),
        (
            "{{ x[(0] }}",
            "unexpected ']' inside the placeholder: the '(' at line 1, column 6 is not closed",
            (1, 8),
        ),
        (
            "{{ f(x",
            "unterminated placeholder: this '{{' has no closing '}}' (the '(' at line 1, column 5",
            (1, 1),
        ),
        (
            "{{ 'abc }}",
            "unterminated string literal inside the placeholder that starts at line 1, column 1",
            (1, 4),
        ),
        ("{% if x %}1{% endif %}", "statement blocks ({% ... %}) are not supported", (1, 1)),
        ('"a {% if x %}"', "statement blocks ({% ... %}) are not supported", (1, 4)),
        ('{"a": "{# note #}"}', "comments ({# ... #}) are not supported", (1, 8)),
        ("{{# note #}", "unterminated placeholder", (1, 1)),
        ('{"{{ userId }}": 1}', "keys are literal text: '{{' cannot appear in an object key", (1, 3)),
        ('{"a{%": 1}', "keys are literal text: '{%' cannot appear in an object key", (1, 4)),
        ("{ {{ userId }}: 1}", "a placeholder cannot be an object key", (1, 3)),
        ('{"a": 1, {% x %}: 2}', "statement blocks ({% ... %}) are not supported", (1, 10)),
    ],
)
def test_placeholder_errors_give_the_problem_and_the_position_in_the_original_text(
    text: str, message: str, position: tuple[int, int]
) -> None:
    error = error_of(text)

    assert isinstance(error, TemplateSyntaxError)
    assert error.message.startswith(message)
    assert (error.line, error.column) == position


def test_a_placeholder_after_escapes_is_located_in_the_original_text() -> None:
    text = '{\n  "a": "\\u00e9\\u00e9\\" {{ userId "\n}'

    error = error_of(text)

    assert (error.line, error.column) == (2, 24)
    assert text.splitlines()[1][23:25] == "{{"


def test_brackets_nested_too_deeply_inside_a_placeholder_are_refused() -> None:
    depth = MAX_EXPRESSION_NESTING + 1

    with pytest.raises(TemplateSyntaxError, match="brackets nested deeper than"):
        parse_text("{{ " + "(" * depth + "1" + ")" * depth + " }}")


def test_a_redacted_source_gets_its_keys_marked_visible_and_nothing_else() -> None:
    source = SourceText('{"X-Token": "abc", "Y": ["{{ userId }}", {"k": 1}]}', redact=True)

    parse(source)

    assert [source.text[start:end] for start, end in source.visible_spans] == ["X-Token", "Y", "k"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"X-A": Bearer s3cr3t}', "unexpected word: strings need double quotes"),
        ('{"X-A": 12s3cr3t}', "invalid number: JSON numbers look like"),
        ('{"X-A": ["a" s3cr3t]}', "expected ',' or ']' after an array item (line"),
        ('{"X-A": @s3cr3t}', "or a {{ placeholder }} (line"),
    ],
)
def test_messages_about_a_redacted_source_do_not_quote_its_text(text: str, message: str) -> None:
    with pytest.raises(TemplateJSONError, match=re.escape(message)) as caught:
        parse(SourceText(text, redact=True))

    assert "s3cr3t" not in str(caught.value)
