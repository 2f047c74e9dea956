"""Local stand-ins for tests, examples and users' own test suites.

Names are exported lazily, so importing this package costs nothing until one is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Reply": "webhook_receiver",
    "ReceivedDelivery": "webhook_receiver",
    "WebhookReceiver": "webhook_receiver",
    "new_webhook_secret": "webhook_receiver",
    "StaticResolver": "resolver",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
