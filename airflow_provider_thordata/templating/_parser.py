"""Read JSON text with ``{{ placeholders }}`` into a tree, keeping every position.

This is a tokenizer over JSON (RFC 8259), not a pattern over the raw text: a placeholder is
recognised where a value may start, or inside the decoded content of a string. Inside a
placeholder the expression's own string literals and brackets are tracked, so ``}}`` inside
``"}}"`` or ``{'a': {'b': 1}}`` does not end it. Nothing here knows about Jinja beyond that.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from airflow_provider_thordata.exceptions import TemplateJSONError, TemplateSyntaxError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_thordata.templating._source import SourceText

#: Objects and arrays nested deeper than this are refused (no real payload comes close).
MAX_NESTING = 100
#: Brackets nested deeper than this inside one placeholder are refused.
MAX_EXPRESSION_NESTING = 50


@dataclass(frozen=True)
class Placeholder:
    """One ``{{ expression }}``.

    :param expression: the text between the braces, decoded when it stood inside a string.
    :param offset: offset of the opening braces in the original text.
    """

    expression: str
    offset: int

    @property
    def display(self) -> str:
        """Return the placeholder as written (decoded), shortened for messages."""
        text = "{{" + self.expression + "}}"
        return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Scalar:
    """A number, ``true``, ``false`` or ``null`` written literally, kept as its JSON text."""

    json_text: str
    offset: int


@dataclass(frozen=True)
class String:
    """A JSON string: literal text and placeholders in order (a literal string has no placeholder).

    :param parts: pieces of the decoded string; ``str`` for literal text.
    :param offset: offset of the opening quote.
    :param end: offset just after the closing quote.
    """

    parts: tuple[str | Placeholder, ...]
    offset: int
    end: int

    @property
    def whole_placeholder(self) -> Placeholder | None:
        """Return the placeholder when it is the entire string (``"{{x}}"``), else ``None``."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Placeholder):
            return self.parts[0]
        return None


@dataclass(frozen=True)
class Bare:
    """A placeholder standing where a JSON value may stand, without quotes."""

    placeholder: Placeholder
    offset: int


@dataclass(frozen=True)
class Array:
    """A JSON array."""

    items: tuple[Node, ...]
    offset: int


@dataclass(frozen=True)
class Member:
    """One ``"key": value`` of an object; keys are always literal."""

    key: str
    key_offset: int
    value: Node


@dataclass(frozen=True)
class Object:
    """A JSON object, members in the order written."""

    members: tuple[Member, ...]
    offset: int


Node = Union[Scalar, String, Bare, Array, Object]  # noqa: UP007 (a runtime alias on Python 3.10)

_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_NUMBER_LIKE = re.compile(r"[-+.0-9][-+.0-9A-Za-z_]*")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_STRING_CHUNK = re.compile(r'[^"\\\x00-\x1f]+')
_EXPRESSION_SPECIAL = re.compile(r"[\"'()\[\]{}]")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_RAW_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_OPENERS = "([{"
_CLOSERS = ")]}"

_STATEMENT_HINT = (
    "statement blocks ({% ... %}) are not supported: a template is JSON with {{ expression }}"
    " placeholders; for a choice use an inline if, e.g. {{ 'yes' if resource.fileSize else 'no' }},"
    " and for the literal text '{%' write {{ '{%' }}"
)
_COMMENT_HINT = (
    "comments ({# ... #}) are not supported: JSON has no comments, and sending them as text would"
    " surprise whoever wrote them; remove it, or for the literal text '{#' write {{ '{#' }}"
)


def parse(source: SourceText) -> Node:
    """Parse the whole template into a tree.

    When ``source`` is redacted, messages never quote the template's text apart from keys, and
    each key is marked visible for excerpts once read.

    :param source: the template text.
    :raises TemplateJSONError: the text apart from placeholders is not JSON.
    :raises TemplateSyntaxError: a placeholder is unterminated, or a ``{%``/``{#`` block is used.
    """
    return _Parser(source).parse_document()


class _Parser:
    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.text = source.text

    # -- document, values -------------------------------------------------------------------

    def parse_document(self) -> Node:
        surrogate = _RAW_SURROGATE.search(self.text)
        if surrogate:
            raise self.source.error(
                TemplateJSONError,
                f"the text holds an unpaired surrogate (U+{ord(surrogate.group()):04X}), which is not"
                " Unicode text and cannot be sent as UTF-8; it usually comes from decoding bytes wrongly",
                surrogate.start(),
            )
        start = self.skip(0)
        if start == len(self.text):
            raise self.source.error(
                TemplateJSONError,
                'the template is empty: write a JSON value, for example {"taskId": "{{ resource.taskId }}"}',
                start,
            )
        node, end = self.value(start, 0)
        end = self.skip(end)
        if end != len(self.text):
            raise self.source.error(
                TemplateJSONError,
                "unexpected text after the end of the JSON value: a template holds exactly one value"
                " (wrap several in an object or an array)",
                end,
            )
        return node

    def skip(self, pos: int) -> int:
        match = _WHITESPACE.match(self.text, pos)
        return match.end() if match else pos

    def value(self, pos: int, depth: int) -> tuple[Node, int]:
        text = self.text
        char = text[pos : pos + 1]
        if char == '"':
            string = self.string(pos, key=False)
            return string, string.end
        if char == "{":
            follower = text[pos + 1 : pos + 2]
            if follower == "{":
                end = expression_end(text, pos + 2, pos, self.source, lambda index: index)
                return Bare(Placeholder(text[pos + 2 : end], pos), pos), end + 2
            self.reject_block(follower, pos)
            return self.object(pos, depth + 1)
        if char == "[":
            return self.array(pos, depth + 1)
        if char and char in "-+.0123456789":
            return self.number(pos)
        if char and (char.isalpha() or char == "_"):
            return self.word(pos)
        raise self.source.error(TemplateJSONError, self.describe_missing_value(char), pos)

    def quoted(self, token: str) -> str:
        """Return `` 'token'`` for a message, or nothing when the template is redacted."""
        return "" if self.source.redact else f" {token!r}"

    def describe_missing_value(self, char: str) -> str:
        if not char:
            return "expected a value, but the template ends here"
        if char == "'":
            return "single quotes are not JSON: write strings in double quotes"
        if char in "]},:":
            return f"expected a value before {char!r}"
        found = "" if self.source.redact else f", found {char!r}"
        return (
            f"expected a JSON value (object, array, string, number, true, false, null) or a"
            f" {{{{ placeholder }}}}{found}"
        )

    def reject_block(self, follower: str, pos: int) -> None:
        if follower == "%":
            raise self.source.error(TemplateSyntaxError, _STATEMENT_HINT, pos)
        if follower == "#":
            raise self.source.error(TemplateSyntaxError, _COMMENT_HINT, pos)

    def number(self, pos: int) -> tuple[Node, int]:
        if self.text.startswith("-Infinity", pos):
            raise self.source.error(TemplateJSONError, "Infinity is not JSON: write a number or null", pos)
        loose = _NUMBER_LIKE.match(self.text, pos)
        strict = _NUMBER.match(self.text, pos)
        if loose is None or strict is None or strict.end() != loose.end():
            token = loose.group() if loose else self.text[pos]
            raise self.source.error(
                TemplateJSONError,
                f"invalid number{self.quoted(token)}: JSON numbers look like 7, -12, 3.5 or 1e6"
                " (no leading zeros, no '+', digits on both sides of '.')",
                pos,
            )
        return Scalar(strict.group(), pos), strict.end()

    def word(self, pos: int) -> tuple[Node, int]:
        match = _WORD.match(self.text, pos)
        word = match.group() if match else self.text[pos]
        if word in ("true", "false", "null"):
            return Scalar(word, pos), pos + len(word)
        if word in ("NaN", "Infinity"):
            message = f"{word} is not JSON: write a number or null"
        elif word in ("True", "False", "None"):
            message = f"{word!r} is Python, not JSON: write true, false or null"
        else:
            example = "name" if self.source.redact else word
            message = (
                f"unexpected word{self.quoted(word)}: strings need double quotes, and placeholders"
                f" double braces, e.g. {{{{ {example} }}}}"
            )
        raise self.source.error(TemplateJSONError, message, pos)

    # -- containers ---------------------------------------------------------------------------

    def check_depth(self, depth: int, pos: int) -> None:
        if depth > MAX_NESTING:
            raise self.source.error(
                TemplateJSONError, f"objects and arrays are nested deeper than {MAX_NESTING} levels", pos
            )

    def object(self, start: int, depth: int) -> tuple[Node, int]:
        self.check_depth(depth, start)
        text = self.text
        members: list[Member] = []
        first_seen: dict[str, int] = {}
        pos = self.skip(start + 1)
        if text[pos : pos + 1] == "}":
            return Object((), start), pos + 1
        comma = -1
        while True:
            name, key_end = self.key(pos, start, comma)
            if name in first_seen:
                previous = self.source.where(first_seen[name])
                raise self.source.error(
                    TemplateJSONError,
                    f"duplicate key {name!r} (first at {previous}): each key may appear once",
                    pos,
                )
            first_seen[name] = pos
            key_offset = pos
            pos = self.skip(key_end)
            if text[pos : pos + 1] != ":":
                raise self.source.error(TemplateJSONError, f"expected ':' after the key {name!r}", pos)
            value, pos = self.value(self.skip(pos + 1), depth)
            members.append(Member(name, key_offset, value))
            pos = self.skip(pos)
            char = text[pos : pos + 1]
            if char == "}":
                return Object(tuple(members), start), pos + 1
            if char != ",":
                raise self.source.error(TemplateJSONError, self.after_member(char, name, start), pos)
            comma = pos
            pos = self.skip(pos + 1)

    def after_member(self, char: str, name: str, start: int) -> str:
        if not char:
            return f"unterminated object: the '{{' at {self.source.where(start)} is never closed"
        if char == '"':
            return f"missing ',' after the value of {name!r}"
        return f"expected ',' or '}}' after the value of {name!r}"

    def key(self, pos: int, start: int, comma: int) -> tuple[str, int]:
        text = self.text
        char = text[pos : pos + 1]
        if char == '"':
            key = self.string(pos, key=True)
            if self.source.redact:
                self.source.visible_spans.append((key.offset + 1, key.end - 1))
            return str(key.parts[0]), key.end
        if char == "}" and comma >= 0:
            raise self.source.error(TemplateJSONError, "trailing comma: remove the ',' before '}'", comma)
        if text.startswith("{{", pos):
            raise self.source.error(
                TemplateSyntaxError,
                "a placeholder cannot be an object key: keys are literal text; put the placeholder"
                " in the value",
                pos,
            )
        self.reject_block(text[pos + 1 : pos + 2] if char == "{" else "", pos)
        if not char:
            message = f"unterminated object: the '{{' at {self.source.where(start)} is never closed"
        elif char == "'":
            message = "single quotes are not JSON: write keys in double quotes"
        else:
            message = f"expected a key in double quotes, found {char!r}"
        raise self.source.error(TemplateJSONError, message, pos)

    def array(self, start: int, depth: int) -> tuple[Node, int]:
        self.check_depth(depth, start)
        text = self.text
        items: list[Node] = []
        pos = self.skip(start + 1)
        if text[pos : pos + 1] == "]":
            return Array((), start), pos + 1
        while True:
            item, pos = self.value(pos, depth)
            items.append(item)
            pos = self.skip(pos)
            char = text[pos : pos + 1]
            if char == "]":
                return Array(tuple(items), start), pos + 1
            if char != ",":
                if not char:
                    message = f"unterminated array: the '[' at {self.source.where(start)} is never closed"
                else:
                    found = "" if self.source.redact else f", found {char!r}"
                    message = f"expected ',' or ']' after an array item{found}"
                raise self.source.error(TemplateJSONError, message, pos)
            comma = pos
            pos = self.skip(pos + 1)
            if text[pos : pos + 1] == "]":
                raise self.source.error(TemplateJSONError, "trailing comma: remove the ',' before ']'", comma)

    # -- strings ------------------------------------------------------------------------------

    def string(self, start: int, *, key: bool) -> String:
        decoded, origins, end = self.decode_string(start)
        if "{" not in decoded:
            return String((decoded,), start, end)

        def offset_of(index: int) -> int:
            at = bisect.bisect_right(origins[0], index) - 1
            return origins[1][at] + index - origins[0][at]

        if key:
            for marker in ("{{", "{%", "{#"):
                found = decoded.find(marker)
                if found != -1:
                    raise self.source.error(
                        TemplateSyntaxError,
                        f"keys are literal text: {marker!r} cannot appear in an object key; put the"
                        " placeholder in the value",
                        offset_of(found),
                    )
            return String((decoded,), start, end)
        return String(self.split_placeholders(decoded, offset_of), start, end)

    def split_placeholders(
        self, decoded: str, offset_of: Callable[[int], int]
    ) -> tuple[str | Placeholder, ...]:
        parts: list[str | Placeholder] = []
        literal_from = 0
        index = decoded.find("{")
        while index != -1 and index + 1 < len(decoded):
            follower = decoded[index + 1]
            if follower == "{":
                end = expression_end(decoded, index + 2, offset_of(index), self.source, offset_of)
                if index > literal_from:
                    parts.append(decoded[literal_from:index])
                parts.append(Placeholder(decoded[index + 2 : end], offset_of(index)))
                literal_from = end + 2
                index = decoded.find("{", literal_from)
                continue
            self.reject_block(follower, offset_of(index))
            index = decoded.find("{", index + 1)
        if literal_from < len(decoded) or not parts:
            parts.append(decoded[literal_from:])
        return tuple(parts)

    def decode_string(self, start: int) -> tuple[str, tuple[list[int], list[int]], int]:
        """Decode the string opening at ``start``; return it, its origin map and its end.

        The origin map is two parallel lists: the decoded index where each run starts and the
        original offset of that run, so any decoded index maps back to the user's text.
        """
        text = self.text
        pieces: list[str] = []
        decoded_starts: list[int] = []
        original_starts: list[int] = []
        length = 0
        pos = start + 1
        while True:
            chunk = _STRING_CHUNK.match(text, pos)
            if chunk:
                decoded_starts.append(length)
                original_starts.append(pos)
                pieces.append(chunk.group())
                length += chunk.end() - pos
                pos = chunk.end()
            char = text[pos : pos + 1]
            if char == '"':
                return "".join(pieces), (decoded_starts, original_starts), pos + 1
            if char == "\\":
                decoded_char, width = self.escape(pos)
                decoded_starts.append(length)
                original_starts.append(pos)
                pieces.append(decoded_char)
                length += 1
                pos += width
                continue
            if not char:
                raise self.source.error(
                    TemplateJSONError,
                    f"unterminated string: the '\"' at {self.source.where(start)} is never closed",
                    pos,
                )
            raise self.source.error(TemplateJSONError, _describe_control(char), pos)

    def escape(self, pos: int) -> tuple[str, int]:
        text = self.text
        letter = text[pos + 1 : pos + 2]
        if letter in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[letter], 2
        if letter == "u":
            high = self.hex4(pos)
            if 0xDC00 <= high <= 0xDFFF:
                raise self.source.error(TemplateJSONError, _SURROGATE_HINT, pos)
            if 0xD800 <= high <= 0xDBFF:
                low = self.hex4(pos + 6) if text.startswith("\\u", pos + 6) else -1
                if not 0xDC00 <= low <= 0xDFFF:
                    raise self.source.error(TemplateJSONError, _SURROGATE_HINT, pos)
                return chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)), 12
            return chr(high), 6
        if not letter:
            raise self.source.error(TemplateJSONError, "unterminated string: it ends in a backslash", pos)
        raise self.source.error(
            TemplateJSONError,
            f"invalid escape '\\{letter}' in a string: JSON allows \\\" \\\\ \\/ \\b \\f \\n \\r \\t"
            " and \\uXXXX (write a backslash as \\\\)",
            pos,
        )

    def hex4(self, pos: int) -> int:
        digits = _HEX4.match(self.text, pos + 2)
        if digits is None:
            raise self.source.error(
                TemplateJSONError, "invalid \\u escape: it needs exactly four hex digits, e.g. \\u00e9", pos
            )
        return int(digits.group(), 16)


_SURROGATE_HINT = (
    "unpaired surrogate escape: a \\uD800-\\uDFFF escape must be a high-low pair such as \\ud83d\\ude00,"
    " otherwise the text cannot be sent as UTF-8"
)


def _describe_control(char: str) -> str:
    names = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}
    escapes = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    name = names.get(char, f"the control character U+{ord(char):04X}")
    escape = escapes.get(char, f"\\u{ord(char):04x}")
    return f"{name} cannot appear raw inside a JSON string: close the string first, or write it as {escape}"


def expression_end(
    chars: str, start: int, placeholder_offset: int, source: SourceText, offset_of: Callable[[int], int]
) -> int:
    """Return the index in ``chars`` of the ``}}`` that closes the placeholder whose body starts at ``start``.

    The expression's string literals (single or double quoted, backslash escapes) and brackets
    are skipped over, as Jinja's own lexer does, so braces inside them do not close it.

    :param chars: the raw template text, or the decoded content of one string.
    :param start: index just after the opening ``{{``.
    :param placeholder_offset: original offset of the opening braces, for messages.
    :param source: the template, for positions in messages.
    :param offset_of: maps an index of ``chars`` to an offset of the original text.
    """
    openers: list[int] = []
    length = len(chars)
    match = _EXPRESSION_SPECIAL.search(chars, start)
    while match is not None:
        index = match.start()
        char = chars[index]
        if char in "\"'":
            index = _string_literal_end(chars, index, char)
            if index == -1:
                raise source.error(
                    TemplateSyntaxError,
                    f"unterminated string literal inside the placeholder that starts at"
                    f" {source.where(placeholder_offset)}",
                    offset_of(match.start()),
                )
        elif char in _OPENERS:
            openers.append(index)
            if len(openers) > MAX_EXPRESSION_NESTING:
                raise source.error(
                    TemplateSyntaxError,
                    f"brackets nested deeper than {MAX_EXPRESSION_NESTING} levels in a placeholder",
                    offset_of(index),
                )
        elif char in _CLOSERS:
            if not openers:
                if chars.startswith("}}", index):
                    return index
                # A stray closer: the expression parser reports it with its own words.
            elif _OPENERS.index(chars[openers[-1]]) == _CLOSERS.index(char):
                openers.pop()
            else:
                raise source.error(
                    TemplateSyntaxError,
                    f"unexpected {char!r} inside the placeholder: the {chars[openers[-1]]!r} at"
                    f" {source.where(offset_of(openers[-1]))} is not closed",
                    offset_of(index),
                )
        match = _EXPRESSION_SPECIAL.search(chars, index + 1) if index + 1 < length else None
    hint = (
        f" (the {chars[openers[-1]]!r} at {source.where(offset_of(openers[-1]))} is never closed)"
        if openers
        else ""
    )
    raise source.error(
        TemplateSyntaxError,
        f"unterminated placeholder: this '{{{{' has no closing '}}}}'{hint}",
        placeholder_offset,
    )


def _string_literal_end(chars: str, index: int, quote: str) -> int:
    """Return the index of the quote closing the literal opened at ``index``, or -1."""
    pos = index + 1
    length = len(chars)
    while pos < length:
        char = chars[pos]
        if char == "\\":
            pos += 2
            continue
        if char == quote:
            return pos
        pos += 1
    return -1
