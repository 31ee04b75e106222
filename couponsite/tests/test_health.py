"""/healthz says the process lives; /readyz asks the database and Redis."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.postgres
@pytest.mark.redis
def test_readyz_all_up(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "redis": "ok"},
        "details": {
            "queue": {
                "waiting": 0,
                "scheduled": 0,
                "running": 0,
                "failed": 0,
                "oldest_waiting_seconds": None,
            }
        },
    }


@pytest.mark.postgres
def test_readyz_with_redis_down_says_so_while_healthz_stays_up(client, redis_down):
    ready = client.get("/readyz")
    alive = client.get("/healthz")

    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] != "ok"
    assert alive.status_code == 200


@pytest.mark.postgres
def test_rate_limits_fail_open_when_redis_is_down(client, redis_down, settings):
    settings.RATE_LIMITS = {
        **settings.RATE_LIMITS,
        "otp_ip": "1/hour",
        "otp_phone": "1/hour",
    }

    answers = [
        client.post(
            "/api/v1/auth/otp",
            {"phone": f"+141555501{n:02d}"},
            content_type="application/json",
        ).status_code
        for n in range(3)
    ]

    assert answers == [202, 202, 202]
