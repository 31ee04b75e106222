"""The HTTP front gunicorn runs: an asyncio server in front of Django.

gunicorn stays the process manager; each of its workers
(``couponsite.server.worker.Worker``, uvicorn's worker on uvloop and httptools)
owns its connections on an event loop, so an idle, half-open or slow client
costs a socket and a little memory, never a thread. The ASGI application
(``couponsite.asgi.application``) is a ``Router``: a request the thin path
answers never reaches Django (``couponsite.server.routes``); every other one is
read whole, body included, with a size limit and a deadline, and only then
handed to Django's WSGI handler in a small fixed pool of threads
(``WSGIBridge``). docs/performance.md ("A server slow clients cannot stall")
says why this shape and not Django's ASGI handler, with figures.
"""

from couponsite.server.router import Route, Router
from couponsite.server.wsgi import WSGIBridge, oldest_request_start

__all__ = ["Route", "Router", "WSGIBridge", "oldest_request_start"]
