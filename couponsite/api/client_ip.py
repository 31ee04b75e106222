"""The client's address, believing ``X-Forwarded-For`` only from trusted proxies."""

import ipaddress
from functools import lru_cache

from django.conf import settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _trusted(address, networks: tuple[IPNetwork, ...]) -> bool:
    return address is not None and any(address in network for network in networks)


def client_ip(request) -> str:
    """Walk X-Forwarded-For from the right, past our own proxies, to the client.

    A hop we cannot parse ends the walk: everything left of it is the client's
    to forge, so the last good address is the best we know.
    """
    remote = request.META.get("REMOTE_ADDR", "") or "unknown"
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(_parse(remote), networks):
        return remote
    client = remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        address = _parse(hop)
        if address is None:
            break
        client = str(address)
        if not _trusted(address, networks):
            break
    return client


def address_in(address: str, networks: list[str] | tuple[str, ...]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (CIDR strings)."""
    return _trusted(_parse(address), _networks(tuple(networks)))
