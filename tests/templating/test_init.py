from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import airflow_provider_thordata.templating as templating
from airflow_provider_thordata import exceptions


def test_the_public_names_are_exported() -> None:
    assert set(templating.__all__) == {
        "ALLOWED_VARIABLES",
        "DEFAULT_PAYLOAD_TEMPLATE",
        "RESERVED_HEADERS",
        "HeaderTemplateError",
        "HeadersTemplate",
        "PayloadTemplate",
        "ReservedHeaderWarning",
        "TemplateError",
        "TemplateJSONError",
        "TemplateRenderError",
        "TemplateSyntaxError",
        "UnknownVariableError",
    }
    assert templating.TemplateError is exceptions.TemplateError
    assert {
        "userId", "createdAt", "eventType", "eventData", "resource", "globals", "airflow",
    } == templating.ALLOWED_VARIABLES  # fmt: skip
    assert issubclass(templating.ReservedHeaderWarning, UserWarning)


def test_the_reserved_headers_hold_those_of_thordata_and_standard_webhooks_and_the_client_ones() -> None:
    issue_list = {"Host", "Content-Type", "Webhook", "Webhook-Dispatch-Id", "Request-Origin"}
    standard_webhooks = {"webhook-id", "webhook-timestamp", "webhook-signature"}
    client = {"User-Agent", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "TE"}

    assert issue_list | standard_webhooks | client <= templating.RESERVED_HEADERS


@pytest.mark.timeout(60)
def test_using_templates_imports_neither_airflow_nor_builds_anything_at_import_time() -> None:
    script = textwrap.dedent(
        """
        import sys
        import airflow_provider_thordata.templating as templating
        from airflow_provider_thordata.templating import _expressions
        assert _expressions.environment.cache_info().currsize == 0, "environment built at import"
        template = templating.PayloadTemplate('{"a": "{{ eventType | lower }}"}')
        assert template.render({"eventType": "X"}) == b'{"a":"x"}'
        assert "airflow.sdk" not in sys.modules and "airflow.models" not in sys.modules
        imported = [name for name in sys.modules if name == "airflow" or name.startswith("airflow.")]
        assert not imported, imported
        """
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
