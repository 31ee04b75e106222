"""gunicorn settings; every value can be overridden from the environment.

gunicorn manages the processes; each worker is uvicorn's (uvloop, httptools,
``couponsite.server.worker``): connections live on an event loop, so idle,
half-open or slow clients cost no worker, and Django runs in a few threads per
worker once a request has fully arrived (``couponsite.server``;
docs/performance.md, "A server slow clients cannot stall", has the figures).
Two workers suit two cores. ``GUNICORN_WORKER_CLASS=sync`` brings back the old
server (Django's WSGI handler in sync workers) for comparison; it is not safe to
face clients with: two idle connections stall it.
"""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get(
    "GUNICORN_WORKER_CLASS", "couponsite.server.worker.Worker"
)
# What gunicorn serves when the command line names nothing (make run, compose).
wsgi_app = "couponsite.wsgi" if worker_class == "sync" else "couponsite.asgi"
# Threads per worker running Django, each with its own database connection, so
# workers x threads bounds them. Two did more per CPU second than four or eight
# on two cores (docs/performance.md). With the sync class gunicorn would turn
# threads into gthread workers: one there.
threads = int(os.environ.get("GUNICORN_THREADS", "2")) if worker_class != "sync" else 1
# A request running longer than this ends its worker (a fresh one takes over);
# it is also the deadline for a request's body to arrive (408).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# Longest request line (method, URL, version) before a 414; 0 lifts the limit.
limit_request_line = int(os.environ.get("GUNICORN_LIMIT_REQUEST_LINE", "4094"))
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
proc_name = "couponsite"
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl),
# which every server on the machine would take over from the others; nothing uses it.
control_socket_disable = True

# Metrics (couponsite.metrics): every worker writes its values to files in
# PROMETHEUS_MULTIPROC_DIR, prometheus-client's multiprocess mode, and a scrape
# adds them up. Whoever starts the server with the variable set (make run,
# docker-compose, LiveServer) makes and empties the directory first, since task
# workers beside gunicorn write there too; without it, gunicorn makes a private
# one and removes it when it stops. Set here, before any worker imports the
# client library, which reads the variable on import.
# (COUPONSITE_METRICS_DIR_OURS: gunicorn made it, also after a reload re-reads this.)
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix="couponsite-metrics-"
    )
    os.environ["COUPONSITE_METRICS_DIR_OURS"] = "1"
else:
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def child_exit(server, worker) -> None:
    """A worker ended: its live gauges go (counters stay, they are history)."""
    from prometheus_client import multiprocess

    from couponsite.metrics import process_name  # the files' names (not the pid alone)

    multiprocess.mark_process_dead(process_name(worker.pid))


def on_exit(server) -> None:
    if os.environ.get("COUPONSITE_METRICS_DIR_OURS") == "1":
        import shutil

        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
