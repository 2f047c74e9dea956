"""The TLS context both hooks build their clients with."""

from __future__ import annotations

import ssl

from airflow_provider_thordata.tls import tls_context


def test_the_context_is_built_once_and_shared(monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)

    first = tls_context()

    assert tls_context() is first
    assert first.verify_mode is ssl.CERT_REQUIRED
    assert first.check_hostname


def test_a_new_ca_setting_gets_a_context_of_its_own(monkeypatch, tmp_path):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    default = tls_context()

    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    with_dir = tls_context()

    assert with_dir is not default
    assert tls_context() is with_dir
