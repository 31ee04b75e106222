import pytest
from django.test import RequestFactory

from couponsite.api.client_ip import client_ip


@pytest.fixture
def request_from():
    factory = RequestFactory()

    def build(remote: str, forwarded: str | None = None):
        extra = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return factory.get("/", **extra)

    return build


def test_forwarded_for_ignored_without_trusted_proxies(settings, request_from):
    settings.TRUSTED_PROXIES = []

    assert client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_forwarded_for_ignored_from_untrusted_peer(settings, request_from):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


def test_trusted_proxy_chain_is_walked_from_the_right(settings, request_from):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8", "192.0.2.7"]

    request = request_from("10.1.2.3", "6.6.6.6, 198.51.100.1, 192.0.2.7")

    # 6.6.6.6 was written by the client itself; 198.51.100.1 is who reached our proxy.
    assert client_ip(request) == "198.51.100.1"


def test_garbage_hop_stops_the_walk(settings, request_from):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    assert (
        client_ip(request_from("10.1.2.3", "1.2.3.4, not-an-ip, 10.9.9.9"))
        == "10.9.9.9"
    )


def test_ipv6_proxy(settings, request_from):
    settings.TRUSTED_PROXIES = ["::1"]

    assert client_ip(request_from("::1", "2001:db8::5")) == "2001:db8::5"
