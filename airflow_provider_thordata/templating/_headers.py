"""The header template: a JSON object of header names to string values, rendered as text."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.exceptions import HeaderTemplateError, ReservedHeaderWarning
from airflow_provider_thordata.templating._constants import RESERVED_HEADERS
from airflow_provider_thordata.templating._encoding import plain_text
from airflow_provider_thordata.templating._expressions import (
    compile_placeholder,
    require_mapping,
    safe_cause,
)
from airflow_provider_thordata.templating._parser import Object, String, parse
from airflow_provider_thordata.templating._source import SourceText

if TYPE_CHECKING:
    from airflow_provider_thordata.templating._expressions import Expression

#: RFC 9110 section 5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: RFC 9110 section 5.5: CR, LF and NUL are dangerous in a field value, other controls invalid.
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_RESERVED_LOWER = frozenset(name.lower() for name in RESERVED_HEADERS)

_FORBIDDEN_HINT = (
    "a line break, NUL or other control character, which cannot be sent in a header (it could inject headers)"
)


class HeadersTemplate:
    """A header template, parsed and checked once, then rendered any number of times.

    The template is a JSON object whose values are strings; placeholders in them always give
    their text form, whole-string ones too. A header the sender sets itself
    (:data:`RESERVED_HEADERS`, in any letter case) triggers a :class:`ReservedHeaderWarning`
    here and is left out of what :meth:`render` returns. Error messages never show header
    values, which may hold credentials. An instance is immutable and safe to share between
    threads.

    :param text: the template, as written in Thordata's dashboard.
    :raises HeaderTemplateError: not an object of strings, a bad header name, a name given twice,
        or a control character in a literal value.
    :raises TemplateJSONError: apart from placeholders, the text is not JSON (or is empty).
    :raises TemplateSyntaxError: a placeholder is malformed, or a statement block or comment is used.
    :raises UnknownVariableError: a placeholder reads a variable that is not allowed.
    """

    __slots__ = ("_headers", "roots", "text")

    text: str
    roots: frozenset[str]
    _headers: tuple[tuple[str, tuple[str | Expression, ...]], ...]

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"a header template is text (str), not {type(text).__name__}")
        source = SourceText(text, redact=True)
        tree = parse(source)
        if not isinstance(tree, Object):
            raise source.error(
                HeaderTemplateError,
                "a header template must be a JSON object of header names to string values, e.g."
                ' {"X-Task-Id": "{{ resource.taskId }}"}',
                tree.offset,
            )

        headers: list[tuple[str, tuple[str | Expression, ...]]] = []
        reserved: list[tuple[str, int]] = []
        first_seen: dict[str, int] = {}
        for member in tree.members:
            name = member.key
            _check_name(name, member.key_offset, first_seen, source)
            parts = _compile_value(name, member.value, source)
            if name.lower() in _RESERVED_LOWER:
                reserved.append((name, member.key_offset))
            else:
                headers.append((name, parts))

        object.__setattr__(self, "text", text)
        object.__setattr__(self, "_headers", tuple(headers))
        roots = [part.roots for _, parts in headers for part in parts if not isinstance(part, str)]
        object.__setattr__(self, "roots", frozenset().union(*roots))
        for name, offset in reserved:
            line, column = source.position(offset)
            warnings.warn(
                ReservedHeaderWarning(
                    f"the header template sets {name!r} (line {line}, column {column}), which the"
                    " sender or its HTTP client always sets itself: it is dropped from the rendered"
                    " headers",
                    header=name,
                    line=line,
                    column=column,
                ),
                stacklevel=2,
            )

    def render(self, variables: Mapping[str, Any]) -> dict[str, str]:
        """Render the extra headers for one event.

        :param variables: the event's variables by root name, as for PayloadTemplate.render.
        :return: header name to value, in template order, without the reserved headers.
        :raises HeaderTemplateError: a value rendered to an object or an array, or to text with
            a control character; the message names the header.
        :raises TemplateRenderError: a placeholder failed on this data.
        """
        require_mapping(variables)
        rendered: dict[str, str] = {}
        for name, parts in self._headers:
            pieces: list[str] = []
            for part in parts:
                if isinstance(part, str):
                    pieces.append(part)
                else:
                    pieces.append(_render_part(name, part, variables))
            rendered[name] = "".join(pieces)
        return rendered

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<{len(self._headers)} headers>)"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HeadersTemplate):
            return NotImplemented
        return self.text == other.text

    def __hash__(self) -> int:
        return hash((HeadersTemplate, self.text))

    def __copy__(self) -> HeadersTemplate:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> HeadersTemplate:
        return self

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (_restore, (self.text,))


def _restore(text: str) -> HeadersTemplate:
    """Rebuild a pickled template without repeating the warnings its first build gave."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReservedHeaderWarning)
        return HeadersTemplate(text)


def _check_name(name: str, offset: int, first_seen: dict[str, int], source: SourceText) -> None:
    if not _TOKEN.fullmatch(name):
        raise source.error(
            HeaderTemplateError,
            f"{name!r} is not a valid header name: use letters, digits and ! # $ % & ' * + - . ^ _ ` | ~"
            " only (an RFC 9110 token: no spaces, colons or non-ASCII letters)",
            offset,
            header=name,
        )
    lowered = name.lower()
    if lowered in first_seen:
        raise source.error(
            HeaderTemplateError,
            f"the header {name!r} is set twice (first at {source.where(first_seen[lowered])});"
            " header names ignore letter case",
            offset,
            header=name,
        )
    first_seen[lowered] = offset


def _compile_value(name: str, value: object, source: SourceText) -> tuple[str | Expression, ...]:
    if not isinstance(value, String):
        offset = getattr(value, "offset", 0)
        raise source.error(
            HeaderTemplateError,
            f"the value of the header {name!r} must be a JSON string; to use a variable, put the"
            f' placeholder in quotes, e.g. "{{{{ resource.taskId }}}}"',
            offset,
            header=name,
        )
    parts: list[str | Expression] = []
    for part in value.parts:
        if isinstance(part, str):
            if _FORBIDDEN_IN_VALUE.search(part):
                raise source.error(
                    HeaderTemplateError,
                    f"the value of the header {name!r} contains {_FORBIDDEN_HINT}",
                    value.offset,
                    header=name,
                )
            if part:
                parts.append(part)
        else:
            parts.append(compile_placeholder(part, source))
    return tuple(parts)


def _render_part(name: str, expression: Expression, variables: Mapping[str, Any]) -> str:
    try:
        value = expression.evaluate(variables)
        if isinstance(value, (Mapping, list, tuple)):
            kind = "an object" if isinstance(value, Mapping) else "an array"
            raise HeaderTemplateError(
                f"the header {name!r}: placeholder {expression.display} at line {expression.line},"
                f" column {expression.column} produced {kind}, but header values are text; pick a"
                " field of it, e.g. {{ resource.taskId }}",
                header=name,
                line=expression.line,
                column=expression.column,
            )
        text = plain_text(value)
    except HeaderTemplateError:
        raise
    except Exception as error:  # noqa: BLE001 (render raises TemplateError only, whatever the data does)
        raise expression.failure(error) from safe_cause(error)
    if _FORBIDDEN_IN_VALUE.search(text):
        raise HeaderTemplateError(
            f"the header {name!r}: placeholder {expression.display} at line {expression.line},"
            f" column {expression.column} produced {_FORBIDDEN_HINT}; clean it in the expression,"
            " e.g. {{ value | replace('\\n', ' ') }}",
            header=name,
            line=expression.line,
            column=expression.column,
        )
    return text
