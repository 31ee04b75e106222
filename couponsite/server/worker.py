"""gunicorn's worker for Couponsite: uvicorn's, on uvloop and httptools.

``gunicorn.conf.py`` names it. On top of ``uvicorn_worker.UvicornWorker``:

- a WSGI application given on the command line is never run on the event
  loop: Django's (``couponsite.wsgi``, as the bench and older scripts name it)
  is served as ``couponsite.asgi.application``, exactly as ``make run`` serves
  it; any other goes behind a ``WSGIBridge`` of its own;
- the client address is the peer's: ``couponsite.api.client_ip`` believes
  ``X-Forwarded-For`` only from ``TRUSTED_PROXIES`` (uvicorn would rewrite it
  for any proxy in gunicorn's ``forwarded_allow_ips``);
- gunicorn's ``timeout`` still ends a worker whose request runs too long. The
  event loop never blocks, so uvicorn's heartbeat alone would keep a worker
  with a stuck request alive for ever; the heartbeat here carries the start of
  the oldest running request instead, and gunicorn kills the worker (as it
  killed a sync worker) once that request is ``timeout`` seconds old;
- a graceful shutdown lets running requests finish for ``graceful_timeout``.
"""

import inspect
import logging
import os
import time

from uvicorn_worker import UvicornWorker

from couponsite.server.router import Router
from couponsite.server.wsgi import WSGIBridge, oldest_request_start

logger = logging.getLogger("uvicorn.error")


def is_asgi(app) -> bool:
    return inspect.iscoroutinefunction(app) or inspect.iscoroutinefunction(
        type(app).__call__
    )


def _front(wsgi_app) -> Router:
    # Imported here: the arbiter imports this module before Django is set up.
    from django.core.handlers.wsgi import WSGIHandler

    if isinstance(wsgi_app, WSGIHandler):
        from couponsite.asgi import application  # Django set up: the app is loaded

        return application
    return Router(WSGIBridge(wsgi_app))


class Worker(UvicornWorker):
    CONFIG_KWARGS = {
        "loop": "uvloop",
        "http": "httptools",
        "lifespan": "on",
        "proxy_headers": False,
    }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = self.cfg.graceful_timeout
        # A beat a second, so a worker is ended within a second of its request's
        # timeout (and never for a request that has just finished).
        self.config.timeout_notify = 1
        self._stuck_reported = False

    def load_wsgi(self) -> None:
        super().load_wsgi()
        if not is_asgi(self.wsgi):
            self.wsgi = _front(self.wsgi)
        configure = getattr(self.wsgi, "configure", None)
        if configure is not None:
            configure(
                threads=self.cfg.threads,
                timeout=self.cfg.timeout,
                limit_request_line=self.cfg.limit_request_line,
            )

    async def callback_notify(self) -> None:
        now = time.monotonic()
        oldest = oldest_request_start()
        beat = now if oldest is None else min(now, oldest)
        os.utime(self.tmp.fileno(), (beat, beat))  # what WorkerTmp.notify() writes
        stuck = self.cfg.timeout and now - beat > self.cfg.timeout
        if stuck and not self._stuck_reported:
            logger.error(
                "A request has run for %.0f s (timeout %s s); gunicorn ends this worker.",
                now - beat,
                self.cfg.timeout,
            )
        self._stuck_reported = bool(stuck)
