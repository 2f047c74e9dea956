"""A resolver for tests: made-up host names mapped to chosen addresses, with every lookup counted."""

from __future__ import annotations

import ipaddress
import socket
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


class StaticResolver:
    """Resolve host names from a mapping, with the call shape of ``socket.getaddrinfo(host, port)``.

    Give it to ``ThordataWebhookHook(resolver=...)`` to aim a made-up name such as ``hooks.test``
    at a local receiver, or at an internal address to exercise the request forgery guard.
    Change :attr:`hosts` at any time (between attempts, to simulate DNS rebinding).

    :param hosts: host name -> one address or a list of addresses (IPv4 or IPv6).
    """

    def __init__(self, hosts: Mapping[str, str | Sequence[str]]) -> None:
        self.hosts: dict[str, str | Sequence[str]] = dict(hosts)
        self.calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __call__(self, host: str, port: int, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
        """Return ``getaddrinfo``-shaped entries for ``host``; unknown names fail like DNS does."""
        with self._lock:
            self.calls.append((host, port))
            found = self.hosts.get(host)
        if found is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        addresses = [found] if isinstance(found, str) else list(found)
        entries: list[tuple[Any, ...]] = []
        for text in addresses:
            address = ipaddress.ip_address(text)
            if address.version == 6:
                entries.append(
                    (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (text, port, 0, 0))
                )
            else:
                entries.append((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (text, port)))
        return entries
