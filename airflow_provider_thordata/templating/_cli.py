"""``python -m airflow_provider_thordata.templating check``: validate and try template files in CI."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from airflow_provider_thordata.exceptions import ReservedHeaderWarning, TemplateError
from airflow_provider_thordata.templating._constants import ALLOWED_VARIABLES, ALLOWED_VARIABLES_IN_ORDER
from airflow_provider_thordata.templating._headers import HeadersTemplate
from airflow_provider_thordata.templating._payload import PayloadTemplate
from airflow_provider_thordata.templating.samples import sample_variables

if TYPE_CHECKING:
    from collections.abc import Sequence

_T = TypeVar("_T", bound="PayloadTemplate | HeadersTemplate")

PROG = "python -m airflow_provider_thordata.templating"


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the command line; return the exit code: 0 when every file is valid, 1 otherwise.

    :param argv: the arguments after the program name; ``sys.argv[1:]`` when omitted.
    :param out: where rendered results go; standard output when omitted.
    :param err: where errors, warnings and status lines go; standard error when omitted.
    """
    parser = argparse.ArgumentParser(
        prog=PROG, description="Tools for Thordata webhook payload and header templates."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = commands.add_parser(
        "check",
        help="validate template files and render them against a sample event",
        description=(
            "Validate a payload template (and a header template), then render them against a"
            " sample event: the built-in SCRAPER.TASK.SUCCEEDED example, or --sample. Exit code 0"
            " when everything is valid, 1 otherwise; errors are printed as FILE:LINE:COLUMN."
        ),
    )
    check.add_argument("payload", type=Path, help="the payload template file")
    check.add_argument("--headers", type=Path, help="a header template file")
    check.add_argument(
        "--sample",
        type=Path,
        help="a JSON object of event variables (userId, createdAt, eventType, eventData, resource, ...)",
    )
    arguments = parser.parse_args(argv)
    return _Check(out or sys.stdout, err or sys.stderr).run(
        arguments.payload, arguments.headers, arguments.sample
    )


class _Check:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out = out
        self.err = err
        self.failed = False

    def run(self, payload_path: Path, headers_path: Path | None, sample_path: Path | None) -> int:
        variables = self.load_sample(sample_path) if sample_path else sample_variables()
        payload = self.load(PayloadTemplate, payload_path)
        headers = self.load(HeadersTemplate, headers_path) if headers_path else None
        if self.failed or payload is None or variables is None:
            return 1

        body = self.render(payload, payload_path, variables)
        rendered_headers = self.render(headers, headers_path, variables) if headers and headers_path else ""
        if body is None or rendered_headers is None:
            return 1

        # Flushed line by line so that both streams keep their order when they share a terminal.
        print(f"{payload_path}: valid", file=self.err, flush=True)
        print(body, file=self.out, flush=True)
        if headers_path is not None:
            print(f"{headers_path}: valid", file=self.err, flush=True)
            print(rendered_headers, file=self.out, flush=True)
        return 0

    def read(self, path: Path) -> str | None:
        try:
            return path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            self.report(path, "error", "the file is not UTF-8 text")
        except OSError as error:
            self.report(path, "error", f"cannot read it: {error.strerror or error}")
        return None

    def load(self, kind: type[_T], path: Path) -> _T | None:
        text = self.read(path)
        if text is None:
            return None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ReservedHeaderWarning)
            try:
                template = kind(text)
            except TemplateError as error:
                self.report(path, "error", error.message, error.line, error.column)
                return None
        for warning in caught:
            message = warning.message
            if isinstance(message, ReservedHeaderWarning):
                self.report(path, "warning", message.message, message.line, message.column, fails=False)
        return template

    def load_sample(self, path: Path) -> dict[str, Any] | None:
        text = self.read(path)
        if text is None:
            return None
        try:
            sample = json.loads(text)
        except json.JSONDecodeError as error:
            self.report(path, "error", f"the sample is not JSON: {error.msg}", error.lineno, error.colno)
            return None
        if not isinstance(sample, dict):
            self.report(path, "error", "the sample must be a JSON object of event variables")
            return None
        unknown = sorted(set(sample) - ALLOWED_VARIABLES)
        if unknown:
            self.report(
                path,
                "error",
                f"the sample has unknown variables {', '.join(unknown)}: the variables are"
                f" {', '.join(ALLOWED_VARIABLES_IN_ORDER)}",
            )
            return None
        return sample

    def render(
        self, template: PayloadTemplate | HeadersTemplate, path: Path, variables: dict[str, Any]
    ) -> str | None:
        """Return the text to show (the body, or the headers as a JSON object), or ``None`` on error."""
        try:
            rendered = template.render(variables)
        except TemplateError as error:
            self.report(path, "error", error.message, error.line, error.column)
            return None
        if isinstance(rendered, bytes):
            return rendered.decode("utf-8")
        return json.dumps(rendered, ensure_ascii=False)

    def report(
        self,
        path: Path,
        severity: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        fails: bool = True,
    ) -> None:
        where = f"{path}:{line}:{column}" if line is not None and column is not None else str(path)
        print(f"{where}: {severity}: {message}", file=self.err, flush=True)
        self.failed = self.failed or fails
