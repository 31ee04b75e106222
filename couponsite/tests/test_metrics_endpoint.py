"""GET /metrics: who may scrape it, what it answers, and that it never answers 500."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from couponsite.metrics import exposition

pytestmark = pytest.mark.django_db


def _samples(body: bytes) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_loopback_may_scrape_by_default(client):
    response = client.get("/metrics")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    samples = _samples(response.content)
    # The task queue is read at the scrape: every state is there, even at 0.
    for state in ("waiting", "scheduled", "running", "failed"):
        assert ("couponsite_task_queue_tasks", (("state", state),)) in samples


def test_another_network_is_refused_with_the_error_body(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"
    assert "METRICS_ALLOWED_NETWORKS" in response.json()["detail"]


def test_the_allowed_networks_are_a_setting(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]

    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200
    assert client.get("/metrics").status_code == 403  # loopback is no longer in


def test_no_network_means_nobody(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = []

    assert client.get("/metrics").status_code == 403


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(client, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]

    # Through our proxy, the client is the forwarded address: not loopback.
    through_proxy = client.get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.7")
    # From elsewhere, a forged header changes nothing.
    forged = client.get(
        "/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1"
    )

    assert through_proxy.status_code == 403
    assert forged.status_code == 403


def test_with_a_token_the_bearer_must_carry_it(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape"

    missing = client.get("/metrics")
    wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer nope")
    other_scheme = client.get("/metrics", HTTP_AUTHORIZATION="Token s3cret-scrape")
    right = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape")

    for refused in (missing, wrong, other_scheme):
        assert refused.status_code == 403
        assert refused.json()["code"] == "PERMISSION_DENIED"
        assert "METRICS_TOKEN" in refused.json()["detail"]
    assert right.status_code == 200


def test_the_token_does_not_open_other_networks(client, settings):
    settings.METRICS_TOKEN = "s3cret-scrape"

    response = client.get(
        "/metrics",
        REMOTE_ADDR="203.0.113.7",
        HTTP_AUTHORIZATION="Bearer s3cret-scrape",
    )

    assert response.status_code == 403


def test_only_get_and_head(client):
    response = client.post("/metrics")

    assert response.status_code == 405
    assert response.json()["code"] == "METHOD_NOT_ALLOWED"
    assert response["Allow"] == "GET, HEAD"


def test_a_figure_that_fails_is_left_out_not_a_500(client, monkeypatch):
    def broken():
        raise RuntimeError("the database is away")

    monkeypatch.setattr(exposition, "FIGURES", [broken, *exposition.FIGURES])

    response = client.get("/metrics")

    assert response.status_code == 200
    assert b"couponsite_task_queue_tasks" in response.content


def test_a_scrape_that_fails_is_a_503_with_the_error_body(client, monkeypatch):
    def broken() -> bytes:
        raise OSError("the metrics directory is gone")

    monkeypatch.setattr(exposition, "scrape", broken)

    response = client.get("/metrics")

    assert response.status_code == 503
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"


def test_the_endpoint_is_not_in_the_api_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert not [path for path in schema["paths"] if "metrics" in path]
