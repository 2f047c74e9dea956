from __future__ import annotations

import pytest

from airflow_provider_thordata.exceptions import TemplateJSONError
from airflow_provider_thordata.templating._source import SourceText


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0, (1, 1)), (3, (1, 4)), (4, (2, 1)), (6, (2, 3)), (8, (3, 1)), (9, (3, 2))],
)
def test_offsets_map_to_one_based_lines_and_columns_counting_crlf_as_one_break(
    offset: int, expected: tuple[int, int]
) -> None:
    source = SourceText("abc\nde\r\nf")

    assert source.position(offset) == expected


def test_an_excerpt_shows_the_line_with_its_number_and_a_caret_under_the_column() -> None:
    source = SourceText('{\n  "a": 1 2\n}')

    excerpt = source.excerpt(source.text.index("2"))

    assert excerpt == '   2 |   "a": 1 2\n     |          ^'


def test_an_excerpt_shows_tabs_as_one_space_so_that_the_caret_stays_aligned() -> None:
    source = SourceText('\t\t"a" x')

    excerpt = source.excerpt(source.text.index("x"))

    assert excerpt.splitlines()[1].index("^") == excerpt.splitlines()[0].index("x")


def test_an_excerpt_of_a_long_line_is_cut_around_the_column() -> None:
    source = SourceText("[" + "1," * 200 + "x]")

    excerpt = source.excerpt(source.text.index("x"))

    shown, caret = excerpt.splitlines()
    assert len(shown) < 120
    assert shown.startswith("   1 | ...")
    assert shown[caret.index("^")] == "x"


def test_a_redacted_excerpt_shows_only_punctuation_and_visible_spans() -> None:
    source = SourceText('{"Authorization": "Bearer s3cr3t", "X": 1}', redact=True)
    start = source.text.index("Authorization")
    source.visible_spans.append((start, start + len("Authorization")))

    excerpt = source.excerpt(source.text.index("1"))

    assert excerpt.splitlines()[0] == '   1 | {"Authorization": "****** ******", "*": *}'


def test_an_excerpt_of_a_source_that_is_not_redacted_shows_everything() -> None:
    source = SourceText('{"Authorization": "Bearer s3cr3t"}')

    assert "Bearer s3cr3t" in source.excerpt(0)


def test_an_error_carries_the_position_in_its_attributes_and_message() -> None:
    source = SourceText("[1,\n  x]")

    error = source.error(TemplateJSONError, "something is wrong", source.text.index("x"))

    assert (error.line, error.column) == (2, 3)
    assert error.message.startswith("something is wrong (line 2, column 3)\n")
    assert error.message.endswith("   2 |   x]\n     |   ^")
