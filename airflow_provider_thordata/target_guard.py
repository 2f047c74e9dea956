"""Request forgery guard for webhook targets: resolve once, refuse internal addresses, pin the result.

A webhook target is an address users type in, so a sender must not become a way to reach
the network it runs in (cloud metadata at 169.254.169.254, databases on private ranges,
services on loopback). :func:`check_target` resolves the target's host, refuses it when any
resolved address is not a public internet address, and returns the one address the request
must be sent to, so that no second lookup can swap in another (DNS rebinding).

URLs are parsed with :class:`httpx.URL`, the parser of the client that sends the request, so
the guard and the client can never disagree about which host a URL names.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from airflow_provider_thordata.exceptions import UnsafeWebhookTargetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Anything called like ``socket.getaddrinfo(host, port)``, returning its 5-tuples.
Resolver = Callable[[str, int], Sequence[tuple[Any, ...]]]

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

_RFC1918 = tuple(ipaddress.IPv4Network(net) for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_CARRIER_GRADE_NAT = ipaddress.IPv4Network("100.64.0.0/10")
_UNIQUE_LOCAL = ipaddress.IPv6Network("fc00::/7")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_HOST_NAME = re.compile(
    r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$"
)

REMEDY = (
    "If this target is intended, add the host or a CIDR range covering it to the connection's "
    "'Allowed private targets' field (extra 'allowed_targets')"
)


@dataclass(frozen=True)
class AllowedTargets:
    """Hosts and address ranges exempt from the guard, from the ``allowed_targets`` extra.

    :param hosts: host names (lower case, IDNA) whose resolved addresses are not checked.
    :param networks: address ranges that are allowed wherever a host resolves into them.
    """

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, value: str | Iterable[str] | None) -> AllowedTargets:
        """Parse a comma-separated string (or a list) of host names, addresses and CIDR ranges."""
        if value is None:
            return cls()
        entries = value.split(",") if isinstance(value, str) else list(value)
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for raw in entries:
            if not isinstance(raw, str):
                raise ValueError(f"allowed_targets entries must be strings, got {type(raw).__name__}")
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_NAME.match(entry):
                raise ValueError(
                    f"allowed_targets entry {raw.strip()!r} is neither a host name nor an IP address or "
                    "CIDR range; write hosts like 'hooks.internal' and ranges like '10.0.0.0/8', "
                    "comma-separated, without scheme, port or path"
                )
            hosts.add(entry)
        return cls(hosts=frozenset(hosts), networks=tuple(networks))

    def allows_host(self, host: str) -> bool:
        """Return whether ``host`` (IDNA, any case) is exempt as a whole."""
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: IPAddress) -> bool:
        """Return whether ``address``, or the IPv4 address it embeds, lies in an allowed range."""
        candidates = [address]
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            candidates.append(embedded)
        return any(candidate in network for candidate in candidates for network in self.networks)


@dataclass(frozen=True)
class CheckedTarget:
    """Where one request goes once the guard has passed it.

    :param url: the request URL with its host replaced by the checked address.
    :param host: the target's host name as the user wrote it (IDNA-encoded).
    :param address: the checked address the connection is made to.
    :param host_header: the ``Host`` header value naming the original host (and a non-default port).
    :param sni_hostname: the TLS server name to send and verify the certificate against, for https
        to a host name; ``None`` otherwise.
    """

    url: httpx.URL
    host: str
    address: str
    host_header: str
    sni_hostname: str | None


def parse_target_url(raw: str) -> httpx.URL:
    """Parse a webhook target URL, defaulting to https when the scheme is missing.

    :raises UnsafeWebhookTargetError: the scheme is not http or https.
    :raises ValueError: the URL is malformed or names no valid host.
    """
    text = raw.strip()
    if "://" not in text:
        text = f"https://{text}"
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise ValueError(f"the target URL is malformed: {exc}") from None
    host = _ascii_host(url)
    if url.scheme not in ALLOWED_SCHEMES:
        raise UnsafeWebhookTargetError(
            f"Webhook target host {host!r} uses the scheme {url.scheme!r}; the Target URL must be an http "
            "or https URL",
            host=host,
        )
    if not host:
        raise ValueError("the target URL names no host")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"the target URL's port {url.port} is out of range")
    if _ip_literal(host) is None and not _HOST_NAME.match(host.lower()):
        raise ValueError(f"the target URL's host {host!r} is not a valid host name or IP address")
    return url.copy_with(fragment=None)


def check_target(url: httpx.URL, *, allowed: AllowedTargets, resolver: Resolver) -> CheckedTarget:
    """Resolve ``url``'s host once, refuse non-public addresses, and pin the request to one of them.

    Every resolved address must pass, not just the one used: a host that resolves to both a
    public and an internal address is refused. Resolution errors (``OSError``, including
    ``socket.gaierror``) propagate to the caller, which treats them as a failed connection.

    :param url: a URL returned by :func:`parse_target_url`.
    :param allowed: exemptions from the ``allowed_targets`` extra.
    :param resolver: called as ``resolver(host, port)`` like ``socket.getaddrinfo``.
    :raises UnsafeWebhookTargetError: naming the host, the address and its class, and the remedy.
    """
    host = _ascii_host(url)
    port = url.port or DEFAULT_PORTS[url.scheme]
    literal = _ip_literal(host)
    addresses = [literal] if literal is not None else _resolve(host, port, resolver)

    if not allowed.allows_host(host):
        for address in addresses:
            refusal = address_class(address)
            if refusal is not None and not allowed.allows_address(address):
                embedded = _embedded_ipv4(address)
                shown = f"{address} (IPv4 {embedded})" if embedded is not None else str(address)
                where = f"is {shown}" if literal is not None else f"resolves to {shown}"
                raise UnsafeWebhookTargetError(
                    f"Webhook target host {host!r} {where}, {_article(refusal)} {refusal} address, which "
                    f"the request forgery guard refuses. {REMEDY}.",
                    host=host,
                    address=str(address),
                    address_class=refusal,
                )

    chosen = addresses[0]
    host_header = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORTS[url.scheme]:
        host_header = f"{host_header}:{port}"
    use_sni = url.scheme == "https" and literal is None
    return CheckedTarget(
        url=url.copy_with(host=str(chosen)),
        host=host,
        address=str(chosen),
        host_header=host_header,
        sni_hostname=host if use_sni else None,
    )


def address_class(address: IPAddress) -> str | None:
    """Return why ``address`` is not a public internet address, or ``None`` when it is one.

    An IPv6 address that carries an IPv4 address (IPv4-mapped, 6to4, NAT64) is judged by the
    IPv4 address it leads to.
    """
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return address_class(embedded)
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address in _CARRIER_GRADE_NAT:
        return "carrier-grade NAT"
    if address in _UNIQUE_LOCAL:
        return "unique-local"
    if isinstance(address, ipaddress.IPv6Address) and address.is_site_local:
        return "site-local"
    if address.is_multicast:
        return "multicast"
    if any(address in network for network in _RFC1918):
        return "private"
    if address.is_reserved or address.is_private or not address.is_global:
        return "reserved"
    return None


def _resolve(host: str, port: int, resolver: Resolver) -> list[IPAddress]:
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _canonname, sockaddr in resolver(host, port):
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise socket.gaierror(f"{host!r} resolved to no address")
    return addresses


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _ascii_host(url: httpx.URL) -> str:
    return url.raw_host.decode("ascii")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"
