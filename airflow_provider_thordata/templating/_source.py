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
#: What a redacted excerpt still shows outside the visible spans: JSON punctuation and spacing.
_ALWAYS_SHOWN = frozenset('{}[]:,"' + " \t\r")


class SourceText:
    r"""The text of one template, with offset to line and column conversion.

    Lines are counted on ``\\n`` (a ``\\r\\n`` pair ends one line); columns count characters,
    both 1-based, exactly like the positions of Python's own JSON errors.

    :param text: the template as the user wrote it.
    :param redact: show only JSON punctuation and the ``visible_spans`` in excerpts, every other
        character as ``*`` (header templates: their values may hold credentials). The parser
        adds each object key to ``visible_spans`` once it has read it.
    """

    def __init__(self, text: str, *, redact: bool = False) -> None:
        self.text = text
        self.redact = redact
        self.visible_spans: list[tuple[int, int]] = []
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
            char if self._is_shown(start + index, char) else _MASK
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

    def _is_shown(self, offset: int, char: str) -> bool:
        if not self.redact or char in _ALWAYS_SHOWN:
            return True
        return any(start <= offset < end for start, end in self.visible_spans)
