"""Placeholder expressions: checked once against the allowed roots, run in Jinja's immutable sandbox.

Each placeholder is parsed by Jinja's own expression parser exactly once. A plain dotted path
(``resource.taskId``, ``eventData.items.0``) is then evaluated by a short loop that calls the
very lookup functions the sandbox uses, so it cannot disagree with it; anything else (filters,
operators, tests, calls) is compiled once into a Jinja template expression.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from jinja2 import nodes
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError, TemplateRuntimeError
from jinja2.exceptions import TemplateSyntaxError as JinjaTemplateSyntaxError
from jinja2.parser import Parser
from jinja2.runtime import ChainableUndefined, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from airflow_provider_thordata.exceptions import (
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariableError,
)
from airflow_provider_thordata.templating._constants import ALLOWED_VARIABLES, ALLOWED_VARIABLES_IN_ORDER
from airflow_provider_thordata.templating._encoding import NotJSONError

if TYPE_CHECKING:
    from jinja2.runtime import Context

    from airflow_provider_thordata.templating._parser import Placeholder
    from airflow_provider_thordata.templating._source import SourceText

#: Largest integer exponent ``**`` accepts (the result of ``9 ** 9 ** 9`` would take minutes).
MAX_EXPONENT = 4096
#: Longest string, list or tuple that ``*`` may build.
MAX_REPEAT = 1_000_000
#: Deepest expression tree accepted (real ones stay under ten).
MAX_EXPRESSION_DEPTH = 50

_MISSING: Any = object()

#: Errors whose messages name types and operations, never the values involved.
_DESCRIPTIVE_ERRORS = (TemplateRuntimeError, TypeError, ZeroDivisionError, OverflowError)
#: Beginnings of the ValueError messages of the JSON encoder and of int-to-text conversion.
_ENCODER_MESSAGES = ("Out of range float", "Circular reference", "Exceeds the limit")


class PlaceholderEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with data-first lookups and bounded ``*`` and ``**``.

    On a mapping, both ``a.b`` and ``a['b']`` reach the key ``b`` only: a key wins over an
    attribute of the same name (``items`` is a field, never ``dict.items``), and a missing key
    is undefined rather than a method. Other objects follow the sandbox's rules.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(undefined=ChainableUndefined, autoescape=False)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Return ``obj.attribute``: the key for a mapping, the sandbox's attribute lookup otherwise."""
        if isinstance(obj, Mapping):
            return self._key(obj, attribute)
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        """Return ``obj[argument]``: the key for a mapping, the sandbox's item lookup otherwise."""
        if isinstance(obj, Mapping):
            return self._key(obj, argument)
        return super().getitem(obj, argument)

    def _key(self, obj: Mapping[Any, Any], key: Any) -> Any:
        try:
            if key in obj:
                return obj[key]
        except TypeError:  # an unhashable key, such as a list
            pass
        return self.undefined(obj=obj, name=key)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Apply ``*`` or ``**`` after refusing results too large to build."""
        if (
            operator == "**"
            and isinstance(left, int)
            and isinstance(right, int)
            and right > MAX_EXPONENT
            and left not in (-1, 0, 1)
        ):
            raise SecurityError(f"an integer power with an exponent above {MAX_EXPONENT} is refused")
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, (str, list, tuple))
                    and isinstance(count, int)
                    and len(sequence) * count > MAX_REPEAT
                ):
                    raise SecurityError(f"'*' would build more than {MAX_REPEAT} items, which is refused")
        return super().call_binop(context, operator, left, right)


@functools.lru_cache(maxsize=1)
def environment() -> PlaceholderEnvironment:
    """Return the one shared environment, built on first use (never at import time)."""
    return PlaceholderEnvironment()


class Expression:
    """One compiled placeholder: how to evaluate it, and where it is for messages.

    :param placeholder: the placeholder as parsed.
    :param line: its 1-based line in the original text.
    :param column: its 1-based column.
    :param roots: the variables it reads.
    :param evaluate: returns the expression's value for a mapping of variables; an undefined
        result (a missing variable or field) is ``None``.
    """

    __slots__ = ("column", "display", "evaluate", "line", "roots")

    def __init__(
        self,
        placeholder: Placeholder,
        line: int,
        column: int,
        roots: frozenset[str],
        evaluate: Callable[[Mapping[str, Any]], Any],
    ) -> None:
        self.display = placeholder.display
        self.line = line
        self.column = column
        self.roots = roots
        self.evaluate = evaluate

    def failure(self, error: BaseException | str) -> TemplateRenderError:
        """Describe ``error`` (an exception raised while rendering this placeholder, or a reason).

        :param error: the exception, or the reason as text.
        """
        detail = error if isinstance(error, str) else describe(error)
        return TemplateRenderError(
            f"placeholder {self.display} at line {self.line}, column {self.column} failed: {detail}",
            line=self.line,
            column=self.column,
        )


def describe(error: BaseException) -> str:
    """Say what went wrong without quoting the data involved."""
    if isinstance(error, NotJSONError):
        hint = " (add '| list')" if error.type_name in ("generator", "map", "filter") else ""
        return (
            f"it produced a {error.type_name}{hint}, which has no JSON form: pass JSON-friendly"
            " values (str, int, float, bool, None, list, dict) or convert it in the expression"
        )
    if isinstance(error, RecursionError):
        return "the value is nested too deeply or contains itself"
    if isinstance(error, _DESCRIPTIVE_ERRORS) or (
        isinstance(error, ValueError) and str(error).startswith(_ENCODER_MESSAGES)
    ):
        return f"{type(error).__name__}: {error}"
    # Other errors may quote the data (a ValueError from int('...') does): name the type only.
    return f"{type(error).__name__} raised while evaluating it"


def compile_placeholder(placeholder: Placeholder, source: SourceText) -> Expression:
    """Parse, check and compile one placeholder.

    :raises TemplateSyntaxError: empty, not an expression, an unknown filter or test, or a name
        starting with ``_``.
    :raises UnknownVariableError: the expression reads a variable that is not an allowed root.
    """
    env = environment()
    if not placeholder.expression.strip():
        raise source.error(
            TemplateSyntaxError,
            "empty placeholder: write a variable between the braces, e.g. {{ resource.taskId }}",
            placeholder.offset,
        )
    node = _parse(placeholder, source, env)
    roots = _check_names(node, placeholder, source)
    path = _plain_path(node)
    if path is not None:
        evaluate = _path_lookup(env, path[0], path[1])
    else:
        evaluate = _compile(node, placeholder, source, env, roots)
    line, column = source.position(placeholder.offset)
    return Expression(placeholder, line, column, roots, evaluate)


def _parse(placeholder: Placeholder, source: SourceText, env: PlaceholderEnvironment) -> nodes.Expr:
    try:
        parser = Parser(env, placeholder.expression, state="variable")
        node = parser.parse_expression()
        if not parser.stream.eos:
            raise JinjaTemplateSyntaxError(
                f"unexpected {parser.stream.current.value!r} after the expression",
                parser.stream.current.lineno,
            )
    except JinjaTemplateSyntaxError as error:
        hint = ""
        if placeholder.expression.rstrip().endswith("-"):
            hint = " (Jinja's whitespace control {{- -}} does not apply here: remove the '-')"
        raise source.error(
            TemplateSyntaxError,
            f"invalid expression in placeholder {placeholder.display}: {error.message}{hint}",
            placeholder.offset,
        ) from None
    except (RecursionError, MemoryError):
        raise source.error(
            TemplateSyntaxError,
            f"the expression in placeholder {placeholder.display} is nested too deeply",
            placeholder.offset,
        ) from None
    return node


def _walk(node: nodes.Node, placeholder: Placeholder, source: SourceText) -> Iterator[nodes.Node]:
    """Yield ``node`` and everything under it in source order, refusing trees that are too deep.

    The walk keeps its own stack, so a long chain such as ``1 + 1 + ... + 1`` cannot exhaust
    Python's; refusing depth here also keeps Jinja's recursive compiler within bounds.
    """
    stack = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            raise source.error(
                TemplateSyntaxError,
                f"the expression in placeholder {placeholder.display} is too complex (more than"
                f" {MAX_EXPRESSION_DEPTH} levels of operations)",
                placeholder.offset,
            )
        yield current
        children = list(current.iter_child_nodes())
        stack.extend((child, depth + 1) for child in reversed(children))


def _check_names(node: nodes.Expr, placeholder: Placeholder, source: SourceText) -> frozenset[str]:
    roots: set[str] = set()
    for found in _walk(node, placeholder, source):
        if isinstance(found, nodes.Name):
            if found.name not in ALLOWED_VARIABLES:
                hint = ""
                if "-" in placeholder.expression:
                    hint = "; a field whose name holds '-' needs brackets: eventData['content-type']"
                raise source.error(
                    UnknownVariableError,
                    f"unknown variable {found.name!r} in placeholder {placeholder.display}: the"
                    f" variables are {', '.join(ALLOWED_VARIABLES_IN_ORDER)}{hint}",
                    placeholder.offset,
                    variable=found.name,
                )
            roots.add(found.name)
        elif isinstance(found, nodes.Getattr):
            _refuse_private(found.attr, placeholder, source)
        elif (
            isinstance(found, nodes.Getitem)
            and isinstance(found.arg, nodes.Const)
            and isinstance(found.arg.value, str)
        ):
            _refuse_private(found.arg.value, placeholder, source)
    return frozenset(roots)


def _refuse_private(name: str, placeholder: Placeholder, source: SourceText) -> None:
    if name.startswith("_"):
        raise source.error(
            TemplateSyntaxError,
            f"{name!r} in placeholder {placeholder.display}: names starting with '_' are not"
            " reachable from a template",
            placeholder.offset,
        )


def _plain_path(node: nodes.Expr) -> tuple[str, tuple[tuple[bool, str | int], ...]] | None:
    """Return the root and the steps of a plain path, or ``None`` for any other expression.

    A step is ``(True, name)`` for ``.name`` and ``(False, key)`` for ``.0`` or ``['key']``.
    """
    steps: list[tuple[bool, str | int]] = []
    current: nodes.Node = node
    while True:
        if isinstance(current, nodes.Getattr):
            steps.append((True, current.attr))
            current = current.node
        elif (
            isinstance(current, nodes.Getitem)
            and isinstance(current.arg, nodes.Const)
            and type(current.arg.value) in (str, int)
        ):
            steps.append((False, current.arg.value))
            current = current.node
        elif isinstance(current, nodes.Name):
            return current.name, tuple(reversed(steps))
        else:
            return None


def _path_lookup(
    env: PlaceholderEnvironment, root: str, steps: tuple[tuple[bool, str | int], ...]
) -> Callable[[Mapping[str, Any]], Any]:
    """Build the evaluator of a plain path.

    It gives exactly what the compiled expression would: the same ``getattr``/``getitem`` calls
    for every step, with two shortcuts that cannot change the result: a plain ``dict`` is read
    with ``dict.get`` (which is what the environment's mapping lookup does), and the walk stops
    at the first undefined step, since every later step of an undefined stays undefined and an
    undefined result is ``None``.
    """
    get_attribute = env.getattr
    get_item = env.getitem

    def evaluate(variables: Mapping[str, Any]) -> Any:
        value = variables.get(root, _MISSING)
        if value is _MISSING:
            return None
        for is_attribute, key in steps:
            if type(value) is dict:
                value = value.get(key, _MISSING)
                if value is _MISSING:
                    return None
            else:
                value = (
                    get_attribute(value, key)  # type: ignore[arg-type]
                    if is_attribute
                    else get_item(value, key)
                )
                if isinstance(value, Undefined):
                    return None
        if isinstance(value, Undefined):
            return None
        return value

    return evaluate


def _compile(
    node: nodes.Expr,
    placeholder: Placeholder,
    source: SourceText,
    env: PlaceholderEnvironment,
    roots: frozenset[str],
) -> Callable[[Mapping[str, Any]], Any]:
    """Compile ``node`` as Jinja's ``compile_expression`` does, from the tree already parsed.

    The evaluator hands Jinja only the roots the expression reads, so the rest of the caller's
    mapping (whatever its keys) never matters, exactly as for a plain path.
    """
    try:
        node.set_environment(env)
        body = [nodes.Assign(nodes.Name("result", "store"), node, lineno=1)]
        template = env.from_string(nodes.Template(body, lineno=1))
    except JinjaTemplateSyntaxError as error:
        raise source.error(
            TemplateSyntaxError,
            f"invalid expression in placeholder {placeholder.display}: {error.message}",
            placeholder.offset,
        ) from None
    except (RecursionError, MemoryError, SyntaxError):
        raise source.error(
            TemplateSyntaxError,
            f"the expression in placeholder {placeholder.display} is too complex to compile",
            placeholder.offset,
        ) from None
    expression = TemplateExpression(template, undefined_to_none=True)

    def evaluate(variables: Mapping[str, Any]) -> Any:
        context = {}
        for root in roots:
            value = variables.get(root, _MISSING)
            if value is not _MISSING:
                context[root] = value
        return expression(context)

    return evaluate


def safe_cause(error: BaseException) -> BaseException | None:
    """Return ``error`` when it may be chained to a TemplateRenderError, ``None`` when it may quote data."""
    if isinstance(error, (NotJSONError, RecursionError, *_DESCRIPTIVE_ERRORS)):
        return error
    if isinstance(error, ValueError) and str(error).startswith(_ENCODER_MESSAGES):
        return error
    return None


def require_mapping(variables: object) -> None:
    """Refuse anything but a mapping of variables, as a TemplateRenderError."""
    if not isinstance(variables, Mapping):
        raise TemplateRenderError(
            f"variables must be a mapping of variable names to values, not {type(variables).__name__}"
        )
