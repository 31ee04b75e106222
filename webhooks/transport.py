"""One POST to an endpoint, to an address checked first (SSRF guard).

The host is resolved once here; every address it resolves to must be a public
one (``ipaddress``'s ``is_global``, not multicast) unless
``WEBHOOKS_ALLOW_PRIVATE_TARGETS``; the connection then goes to the address
checked, not to a second lookup, so a DNS answer that changes in between
(DNS rebinding) cannot point the call at the inside. HTTPS still verifies the
certificate against the host's name (SNI and ``Host`` name the host).
Redirects are not followed (``http.client`` never does): a 3xx is a failure.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

RESPONSE_EXCERPT = 500


@dataclass(frozen=True)
class Refusal:
    """Why a target is refused: English as ``str()`` (the delivery log keeps it),
    in the active language from ``translated()`` (the admin's form)."""

    message: str
    params: dict

    def __str__(self) -> str:
        return self.message % {key: str(value) for key, value in self.params.items()}

    def translated(self) -> str:
        return gettext(self.message) % {
            key: value.translated() if isinstance(value, Refusal) else value
            for key, value in self.params.items()
        }


class TargetRefused(Exception):
    """The URL may not be called (scheme, host, or an address on the inside)."""

    def __init__(self, message: str, **params) -> None:
        self.refusal = Refusal(message, params)
        super().__init__(str(self.refusal))

    def translated(self) -> str:
        return self.refusal.translated()


# The kinds of address refused, as ``address_refusal`` names them.
_KINDS = {
    "loopback": gettext_noop("loopback"),
    "link_local": gettext_noop("link-local"),
    "private": gettext_noop("private"),
    "multicast": gettext_noop("multicast"),
    "reserved": gettext_noop("reserved"),
}


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    excerpt: str
    error: str
    duration_ms: int


def _allow_private(allow_private: bool | None) -> bool:
    if allow_private is None:
        return settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS
    return allow_private


def address_refusal(address: str) -> Refusal | None:
    """Why ``address`` may not be called, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for kind, name in _KINDS.items():
        if getattr(ip, f"is_{kind}"):
            return Refusal(
                gettext_noop("%(address)s is a %(kind)s address"),
                {"address": address, "kind": Refusal(name, {})},
            )
    if not ip.is_global:
        return Refusal(
            gettext_noop("%(address)s is not a public address"), {"address": address}
        )
    return None


def target_check(url: str, *, allow_private: bool | None = None) -> list[str]:
    """The addresses ``url``'s host resolves to, all allowed; ``TargetRefused`` else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise TargetRefused(
            gettext_noop("Only http and https URLs can receive webhooks.")
        )
    if not parts.hostname:
        raise TargetRefused(gettext_noop("The URL names no host."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError, UnicodeError) as exc:
        raise TargetRefused(
            gettext_noop("The host %(host)s could not be resolved (%(error)s)."),
            host=parts.hostname,
            error=exc,
        ) from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not _allow_private(allow_private):
        for address in addresses:
            refusal = address_refusal(address)
            if refusal:
                raise TargetRefused(
                    gettext_noop(
                        "%(host)s resolves to %(refusal)s: webhooks are not sent to "
                        "private, loopback or link-local addresses unless "
                        "WEBHOOKS_ALLOW_PRIVATE_TARGETS is set."
                    ),
                    host=parts.hostname,
                    refusal=refusal,
                )
    return addresses


def post(url: str, *, body: bytes, headers: dict[str, str], timeout: float) -> Answer:
    """POST ``body`` to ``url`` (``TargetRefused`` before any connection)."""
    addresses = target_check(url)
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    address = addresses[0]

    def connect_to_checked(_address, timeout=None, source_address=None):
        return socket.create_connection((address, port), timeout, source_address)

    # http.client's own hook for opening the socket: the name is kept for Host
    # and TLS, the address is the one checked above.
    connection._create_connection = connect_to_checked
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    started = time.monotonic()
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        excerpt = response.read(RESPONSE_EXCERPT).decode("utf-8", "replace")
        return Answer(response.status, excerpt, "", _ms_since(started))
    except (OSError, http.client.HTTPException) as exc:
        return Answer(
            None, "", f"{type(exc).__name__}: {exc}"[:500], _ms_since(started)
        )
    finally:
        connection.close()


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
