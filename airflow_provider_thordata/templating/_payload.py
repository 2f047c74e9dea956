"""The payload template: JSON with placeholders, rendered to the exact bytes of a webhook body."""

from __future__ import annotations

from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any

from airflow_provider_thordata.templating._encoding import json_text, plain_text
from airflow_provider_thordata.templating._expressions import (
    compile_placeholder,
    require_mapping,
    safe_cause,
)
from airflow_provider_thordata.templating._parser import (
    Array,
    Bare,
    Object,
    Placeholder,
    Scalar,
    String,
    parse,
)
from airflow_provider_thordata.templating._source import SourceText

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_thordata.exceptions import TemplateRenderError
    from airflow_provider_thordata.templating._expressions import Expression
    from airflow_provider_thordata.templating._parser import Node


class PayloadTemplate:
    """A payload template, parsed and checked once, then rendered any number of times.

    The template is JSON in which ``{{ expression }}`` placeholders stand as values, as whole
    strings (the value keeps its JSON type) or inside longer strings (its text is spliced in).
    Building it checks everything that can be checked without data; rendering only evaluates
    the placeholders and joins precomputed JSON text. An instance is immutable and safe to share
    between threads.

    :param text: the template, as written in Thordata's dashboard.
    :raises TemplateJSONError: apart from placeholders, the text is not JSON (or is empty).
    :raises TemplateSyntaxError: a placeholder is malformed, or a statement block or comment is used.
    :raises UnknownVariableError: a placeholder reads a variable that is not allowed.
    """

    __slots__ = ("_layout", "_slots", "_static", "roots", "text")

    text: str
    roots: frozenset[str]
    _layout: list[str]
    _slots: tuple[tuple[Expression, bool], ...]
    _static: bytes | None

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise TypeError(f"a payload template is text (str), not {type(text).__name__}")
        source = SourceText(text)
        layout = _Layout(source)
        layout.add(parse(source))

        object.__setattr__(self, "text", text)
        object.__setattr__(self, "roots", frozenset().union(*(e.roots for e, _ in layout.slots)))
        object.__setattr__(self, "_layout", layout.pieces)
        object.__setattr__(self, "_slots", tuple(layout.slots))
        static = layout.pieces[0].encode("utf-8") if not layout.slots else None
        object.__setattr__(self, "_static", static)

    def render(self, variables: Mapping[str, Any]) -> bytes:
        """Render the body for one event.

        :param variables: the event's variables by root name (``userId``, ``resource``, ...),
            holding JSON-friendly values; a root that is absent renders like a missing field.
        :return: compact UTF-8 JSON, the exact bytes to send.
        :raises TemplateRenderError: a placeholder failed on this data, or produced a value with
            no JSON form; the message names the placeholder and its position.
        """
        require_mapping(variables)
        if self._static is not None:
            return self._static
        out = self._layout.copy()
        position = 1
        try:
            for expression, as_text in self._slots:
                value = expression.evaluate(variables)
                out[position] = encode_basestring(plain_text(value))[1:-1] if as_text else json_text(value)
                position += 2
        except Exception as error:  # noqa: BLE001 (render raises TemplateError only, whatever the data does)
            raise expression.failure(error) from safe_cause(error)
        try:
            return "".join(out).encode("utf-8")
        except UnicodeEncodeError:
            raise self._unencodable(out) from None

    def _unencodable(self, out: list[str]) -> TemplateRenderError:
        """Find the placeholder whose output cannot be UTF-8 (an unpaired surrogate in the data)."""
        for index, (expression, _) in enumerate(self._slots):
            try:
                out[2 * index + 1].encode("utf-8")
            except UnicodeEncodeError:
                return expression.failure(
                    "it produced text with an unpaired surrogate, which is not valid UTF-8"
                )
        raise AssertionError("unreachable: literal text was checked when the template was built")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PayloadTemplate):
            return NotImplemented
        return self.text == other.text

    def __hash__(self) -> int:
        return hash((PayloadTemplate, self.text))

    def __copy__(self) -> PayloadTemplate:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> PayloadTemplate:
        return self

    def __reduce__(self) -> tuple[type[PayloadTemplate], tuple[str]]:
        return (type(self), (self.text,))


class _Layout:
    """The output as alternating literal JSON text and placeholder slots.

    ``pieces`` holds literal text at even indexes and an empty string where each slot's output
    goes at odd ones: ``[text, "", text, "", text]``. Adjacent literal text is merged.
    """

    def __init__(self, source: SourceText) -> None:
        self.source = source
        self.pieces: list[str] = [""]
        self.slots: list[tuple[Expression, bool]] = []

    def literal(self, text: str) -> None:
        self.pieces[-1] += text

    def slot(self, placeholder: Placeholder, *, as_text: bool) -> None:
        self.slots.append((compile_placeholder(placeholder, self.source), as_text))
        self.pieces.extend(("", ""))

    def add(self, node: Node) -> None:
        if isinstance(node, Scalar):
            self.literal(node.json_text)
        elif isinstance(node, String):
            self.add_string(node)
        elif isinstance(node, Bare):
            self.slot(node.placeholder, as_text=False)
        elif isinstance(node, Array):
            self.literal("[")
            for index, item in enumerate(node.items):
                if index:
                    self.literal(",")
                self.add(item)
            self.literal("]")
        else:
            self.add_object(node)

    def add_object(self, node: Object) -> None:
        self.literal("{")
        for index, member in enumerate(node.members):
            self.literal(("," if index else "") + encode_basestring(member.key) + ":")
            self.add(member.value)
        self.literal("}")

    def add_string(self, node: String) -> None:
        whole = node.whole_placeholder
        if whole is not None:
            self.slot(whole, as_text=False)
            return
        self.literal('"')
        for part in node.parts:
            if isinstance(part, str):
                self.literal(encode_basestring(part)[1:-1])
            else:
                self.slot(part, as_text=True)
        self.literal('"')
