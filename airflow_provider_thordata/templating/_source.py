"""Positions in a template's original text: line and column, and the excerpt under an error."""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from airflow_provider_thordata.exceptions import TemplateError

    _E = TypeVar("_E", bound=TemplateError)

#: Lines longer than this are cut around the column in excerpts.
_EXCERPT_WIDTH = 100
_MASK = "*"


class SourceText:
    r"""The text of one template, with offset to line and column conversion.

    Lines are counted on ``\\n`` (a ``\\r\\n`` pair ends one line); columns count characters,
    both 1-based, exactly like the positions of Python's own JSON errors.

    :param text: the template as the user wrote it.
    :param masked_spans: ``(start, end)`` offsets whose characters never appear in an excerpt
        (header values, which may hold credentials); filled while parsing.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.masked_spans: list[tuple[int, int]] = []
        self._line_starts = [0]
        self._line_starts.extend(index + 1 for index, char in enumerate(text) if char == "\n")

    def position(self, offset: int) -> tuple[int, int]:
        """Return the 1-based line and column of ``offset``."""
        line_index = bisect.bisect_right(self._line_starts, offset) - 1
        return line_index + 1, offset - self._line_starts[line_index] + 1

    def where(self, offset: int) -> str:
        """Return ``line L, column C`` for ``offset``."""
        line, column = self.position(offset)
        return f"line {line}, column {column}"

    def excerpt(self, offset: int) -> str:
        """Return the line holding ``offset`` and a caret under its column, two lines of text."""
        line, column = self.position(offset)
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        if end == -1:
            end = len(self.text)
        chars = [
            _MASK if self._is_masked(start + index) else char
            for index, char in enumerate(self.text[start:end])
        ]
        shown = "".join(chars).rstrip("\r").replace("\t", " ")

        caret_at = column - 1
        if len(shown) > _EXCERPT_WIDTH:
            left = max(0, min(caret_at - _EXCERPT_WIDTH // 2, len(shown) - _EXCERPT_WIDTH))
            prefix = "..." if left else ""
            suffix = "..." if left + _EXCERPT_WIDTH < len(shown) else ""
            shown = prefix + shown[left : left + _EXCERPT_WIDTH] + suffix
            caret_at = caret_at - left + len(prefix)
        gutter = f"{line:>4} | "
        return f"{gutter}{shown}\n{' ' * (len(gutter) - 2)}| {' ' * caret_at}^"

    def error(self, error_class: type[_E], message: str, offset: int, **attributes: str) -> _E:
        """Build ``error_class`` for a problem at ``offset``: position in the message and attributes.

        :param error_class: a TemplateError subclass.
        :param message: what is wrong and what to change, without the position.
        :param offset: where in the text the problem is.
        :param attributes: extra keyword attributes of the error class (``variable``, ``header``).
        """
        line, column = self.position(offset)
        text = f"{message} (line {line}, column {column})\n{self.excerpt(offset)}"
        return error_class(text, line=line, column=column, **attributes)

    def _is_masked(self, offset: int) -> bool:
        return any(start <= offset < end for start, end in self.masked_spans)
