"""Liveness and readiness for the load balancer.

``/healthz`` says the process answers (no I/O). ``/readyz`` asks the database and,
when configured, Redis, through django-health-check, and answers 503 naming
what is down.
"""

import asyncio

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.utils.translation import gettext
from health_check.checks import Database
from health_check.contrib.redis import Redis
from health_check.views import HealthCheckView
from redis.asyncio import Redis as AsyncRedis

from couponsite.api.exceptions import error_body, get_only


def liveness(request):
    if refused := get_only(request):
        return refused
    return JsonResponse({"status": "ok"})


def _redis_client() -> AsyncRedis:
    timeout = settings.REDIS_SOCKET_TIMEOUT
    return AsyncRedis.from_url(
        settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
    )


class ReadinessView(HealthCheckView):
    http_method_names = ["get"]

    async def http_method_not_allowed(self, request, *args, **kwargs):
        response = JsonResponse(
            error_body(
                "METHOD_NOT_ALLOWED",
                gettext('Method "{method}" not allowed.').format(method=request.method),
            ),
            status=405,
        )
        response["Allow"] = "GET"
        return response

    def get_checks(self):
        yield Database()
        if settings.REDIS_URL:
            yield Redis(client_factory=_redis_client)

    async def get(self, request, *args, **kwargs):
        with self.get_executor() as executor:
            self.results = await asyncio.gather(
                *(check.get_result(executor) for check in self.get_checks())
            )
        checks = {
            _name(result.check): "ok" if not result.error else str(result.error)
            for result in self.results
        }
        healthy = all(result.error is None for result in self.results)
        body = {"status": "ok" if healthy else "unavailable", "checks": checks}
        if checks["database"] == "ok":
            body["details"] = {"queue": await sync_to_async(_queue_details)()}
        return JsonResponse(body, status=200 if healthy else 503)


def _queue_details() -> dict:
    """How much background work waits: the task queue's figures (not a check: a
    long queue is slow, not down)."""
    from couponsite.background.figures import queue_figures

    return queue_figures().as_dict()


def _name(check) -> str:
    return "redis" if isinstance(check, Redis) else "database"
