"""The request forgery guard: which targets it refuses, what it says, and where it connects."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from airflow_provider_thordata.exceptions import UnsafeWebhookTargetError
from airflow_provider_thordata.target_guard import (
    AllowedTargets,
    check_target,
    parse_target_url,
)
from airflow_provider_thordata.testing.resolver import StaticResolver

PUBLIC = "93.184.216.34"
NOTHING_ALLOWED = AllowedTargets()


def check(url: str, resolver: object = None, allowed: AllowedTargets = NOTHING_ALLOWED):
    return check_target(parse_target_url(url), allowed=allowed, resolver=resolver or StaticResolver({}))


@pytest.mark.parametrize(
    ("address", "address_class"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("0.0.0.0", "unspecified"),  # noqa: S104  (an address to refuse, not one to bind)
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("192.0.2.10", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("fec0::1", "site-local"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "reserved"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback"),
        ("64:ff9b::a9fe:a9fe", "link-local"),
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused_with_its_class(address, address_class):
    resolver = StaticResolver({"hooks.test": address})

    with pytest.raises(UnsafeWebhookTargetError, match="request forgery guard refuses") as info:
        check("https://hooks.test/thordata", resolver)

    assert info.value.address_class == address_class
    assert info.value.host == "hooks.test"
    assert info.value.address == str(ipaddress.ip_address(address))


def test_the_refusal_names_host_address_class_and_the_remedy():
    resolver = StaticResolver({"metadata.test": "169.254.169.254"})

    with pytest.raises(UnsafeWebhookTargetError) as info:
        check("http://metadata.test/latest?token=abc", resolver)

    message = str(info.value)
    assert "'metadata.test' resolves to 169.254.169.254, a link-local address" in message
    assert "'Allowed private targets' field (extra 'allowed_targets')" in message
    assert "token=abc" not in message
    assert "/latest" not in message


def test_one_internal_address_among_public_ones_is_enough_to_refuse():
    resolver = StaticResolver({"hooks.test": [PUBLIC, "10.0.0.7"]})

    with pytest.raises(UnsafeWebhookTargetError, match=r"resolves to 10\.0\.0\.7, a private address"):
        check("https://hooks.test/", resolver)


def test_a_public_target_is_pinned_to_its_checked_address_with_the_name_kept_for_host_and_tls():
    resolver = StaticResolver({"hooks.test": [PUBLIC, "2606:4700::1111"]})

    target = check("https://user:pw@hooks.test:8443/in?sig=1#frag", resolver)

    assert target.address == PUBLIC
    assert str(target.url) == f"https://user:pw@{PUBLIC}:8443/in?sig=1"
    assert target.host_header == "hooks.test:8443"
    assert target.sni_hostname == "hooks.test"
    assert resolver.calls == [("hooks.test", 8443)]


def test_an_ipv6_address_is_bracketed_in_the_pinned_url():
    resolver = StaticResolver({"hooks.test": "2606:4700::1111"})

    target = check("http://hooks.test/in", resolver)

    assert str(target.url) == "http://[2606:4700::1111]/in"
    assert target.host_header == "hooks.test"
    assert target.sni_hostname is None


@pytest.mark.parametrize(
    ("url", "host_header"),
    [("https://hooks.test:443/", "hooks.test"), ("http://hooks.test:80/", "hooks.test")],
)
def test_the_default_port_is_left_out_of_the_host_header(url, host_header):
    target = check(url, StaticResolver({"hooks.test": PUBLIC}))

    assert target.host_header == host_header


def test_an_international_host_name_is_resolved_and_sent_in_its_idna_form():
    resolver = StaticResolver({"xn--bcher-kva.example": PUBLIC})

    target = check("https://Bücher.example/hook", resolver)

    assert target.host_header == "xn--bcher-kva.example"
    assert target.sni_hostname == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    ("url", "address_class"),
    [
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:7f00:1]/", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
    ],
)
def test_an_address_literal_is_checked_without_asking_the_resolver(url, address_class):
    resolver = StaticResolver({})

    with pytest.raises(UnsafeWebhookTargetError) as info:
        check(url, resolver)

    assert info.value.address_class == address_class
    assert resolver.calls == []


@pytest.mark.parametrize("host", ["2130706433", "0x7f000001", "127.1", "0x7f.1"])
def test_odd_encodings_of_loopback_are_refused_after_real_resolution(host):
    with pytest.raises(UnsafeWebhookTargetError, match="a loopback address"):
        check(f"http://{host}/", socket.getaddrinfo)


def test_a_refused_address_literal_is_described_as_an_address():
    with pytest.raises(
        UnsafeWebhookTargetError, match=r"host '10\.1\.1\.1' is 10\.1\.1\.1, a private address"
    ):
        check("http://10.1.1.1/")


def test_a_public_address_literal_gets_no_sni_name():
    target = check(f"https://{PUBLIC}/hook")

    assert target.sni_hostname is None
    assert target.host_header == PUBLIC


def test_an_allowed_host_skips_the_address_check():
    allowed = AllowedTargets.parse("other.test, HOOKS.internal")

    target = check("http://hooks.internal:9000/", StaticResolver({"hooks.internal": "10.0.0.5"}), allowed)

    assert target.address == "10.0.0.5"
    assert target.host_header == "hooks.internal:9000"


def test_an_allowed_range_admits_addresses_inside_it_only():
    allowed = AllowedTargets.parse("10.0.0.0/8")

    inside = check("http://a.test/", StaticResolver({"a.test": "10.9.8.7"}), allowed)

    assert inside.address == "10.9.8.7"
    with pytest.raises(UnsafeWebhookTargetError, match=r"192\.168\.0\.1, a private address"):
        check("http://b.test/", StaticResolver({"b.test": "192.168.0.1"}), allowed)


def test_a_single_allowed_address_also_covers_its_ipv4_mapped_form():
    allowed = AllowedTargets.parse(["127.0.0.1"])

    target = check("http://a.test/", StaticResolver({"a.test": "::ffff:127.0.0.1"}), allowed)

    assert ipaddress.ip_address(target.address) == ipaddress.ip_address("::ffff:127.0.0.1")


def test_an_address_carrying_an_ipv4_address_is_shown_with_it():
    resolver = StaticResolver({"hooks.test": "::ffff:10.0.0.1"})

    with pytest.raises(
        UnsafeWebhookTargetError, match=r"resolves to ::ffff:a00:1 \(IPv4 10.0.0.1\), a private"
    ):
        check("https://hooks.test/", resolver)


def test_an_allowed_host_does_not_exempt_other_hosts_on_the_same_address():
    allowed = AllowedTargets.parse("hooks.internal")

    with pytest.raises(UnsafeWebhookTargetError, match=r"'evil\.test' resolves to 10\.0\.0\.5"):
        check("http://evil.test/", StaticResolver({"evil.test": "10.0.0.5"}), allowed)


@pytest.mark.parametrize(
    "entry", ["http://hooks.internal", "hooks.internal:8080", "two words", "10.0.0.0/33"]
)
def test_a_malformed_allowed_entry_is_named_with_the_expected_format(entry):
    with pytest.raises(ValueError, match="neither a host name nor an IP address or CIDR range"):
        AllowedTargets.parse(f"ok.test, {entry}")


def test_an_allowed_list_must_hold_strings():
    with pytest.raises(ValueError, match="entries must be strings, got int"):
        AllowedTargets.parse(["ok.test", 10])  # type: ignore[list-item]


def test_an_unresolvable_host_fails_like_a_connection_error():
    with pytest.raises(socket.gaierror, match="Name or service not known"):
        check("https://nowhere.test/", StaticResolver({}))


def test_a_resolver_that_returns_nothing_fails_like_a_connection_error():
    with pytest.raises(socket.gaierror, match="resolved to no address"):
        check("https://hooks.test/", lambda host, port: [])


def test_a_target_without_a_scheme_defaults_to_https():
    url = parse_target_url("  hooks.example.com/thordata?x=1  ")

    assert str(url) == "https://hooks.example.com/thordata?x=1"


@pytest.mark.parametrize(
    "url", ["ftp://hooks.example.com/", "file:///etc/passwd", "gopher://hooks.example.com/"]
)
def test_only_http_and_https_targets_are_accepted(url):
    with pytest.raises(UnsafeWebhookTargetError, match="must be an http or https URL"):
        parse_target_url(url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://", "names no host"),
        ("https://exa mple.com/", "not a valid host name"),
        ("https://hooks.example.com:99999/", "port 99999 is out of range"),
        ("https://hooks.example.com:x/", "malformed"),
    ],
)
def test_a_malformed_target_says_what_is_wrong(url, problem):
    with pytest.raises(ValueError, match=problem):
        parse_target_url(url)
