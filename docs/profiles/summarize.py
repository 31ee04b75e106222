"""Where the app's CPU goes, from py-spy's folded stacks (``record.py``'s chunks).

    python docs/profiles/summarize.py [--ms MS_PER_REQUEST] [--top N] FILE...

Self: every sample is charged to the deepest frame that belongs to a group
(plain stdlib frames such as socket or re are charged to their caller's group),
so the groups add up to 100 %. Cumulative: the share of samples in which a
stage is on the stack. With --ms (the bench's app CPU ms/request) shares become
milliseconds per request. Only the workers' samples count (not gunicorn's master).
"""

import argparse
import json
import re
from collections import Counter
from pathlib import Path

# (group, test on the frame's file), first match wins; None: charge the caller.
GROUPS = [
    ("thin path gate (couponsite/server/thin.py)", r"^couponsite/server/thin\.py"),
    (
        "thin path's Redis connection (loop_redis.py, hiredis)",
        r"^(couponsite/server/loop_redis\.py|hiredis/)",
    ),
    (
        "thin routes (draws/*/thin.py, vouchers/thin.py)",
        r"^(draws/[a-z]+|vouchers)/thin\.py",
    ),
    (
        "group commit (couponsite/group_commit/, the modes' group_commit/)",
        r"^(couponsite/group_commit|draws/rush/services/group_commit"
        r"|draws/draw/group_commit|vouchers/group_commit)/",
    ),
    ("token lookup (customers/authentication.py)", r"^customers/authentication\.py"),
    ("rate limiter (couponsite/api/throttling.py)", r"^couponsite/api/throttling\.py"),
    ("idempotency (couponsite/api/idempotency.py)", r"^couponsite/api/idempotency\.py"),
    (
        "ASGI-to-WSGI bridge, thread hand-off",
        r"^(couponsite/server/|concurrent/futures/|threading\.py|queue\.py|asgiref/)",
    ),
    (
        "HTTP layer (uvicorn, httptools, asyncio)",
        r"^(uvicorn|uvicorn_worker|httptools|uvloop|asyncio|h11|gunicorn)/",
    ),
    (
        "DRF auth, permissions, throttles",
        r"^(rest_framework/(authentication|permissions|throttling)\.py|couponsite/api/permissions\.py)",
    ),
    ("DRF parsers", r"^(rest_framework/parsers\.py|couponsite/api/parsers\.py)"),
    ("DRF renderer and response", r"^rest_framework/(renderers|response)\.py"),
    (
        "serializers",
        r"^(rest_framework/(serializers|fields|relations|utils/serializer_helpers)\.py|couponsite/api/fields\.py|[a-z_/]+/serializers\.py)",
    ),
    (
        "DRF exception handler",
        r"^(rest_framework/exceptions\.py|couponsite/api/exceptions\.py|couponsite/errors\.py|vouchers/errors\.py)",
    ),
    ("DRF view dispatch (request, negotiation)", r"^rest_framework/"),
    (
        "Django middleware",
        r"^(django/middleware/|django/contrib/[a-z]+/middleware\.py|whitenoise/|django/contrib/sessions/)",
    ),
    ("Django ORM (query building, models)", r"^django/db/"),
    ("Django request handling (handler, urls, http)", r"^django/"),
    ("psycopg", r"^(psycopg|psycopg_pool|psycopg_c|psycopg_binary)/"),
    ("redis-py", r"^(redis/|couponsite/redis_client\.py)"),
    ("JSON", r"^(json/|orjson)"),
    ("logging", r"^(logging/|couponsite/logfilters\.py)"),
    ("service and views (ours)", r"^(draws|vouchers|campaigns|customers|couponsite)/"),
    ("other libraries", r"^[a-z_0-9]+/.*\.py$"),
]
GROUPS = [(name, re.compile(rx)) for name, rx in GROUPS]
STDLIB = re.compile(
    r"^(<frozen |[a-z_0-9]+\.py$|(re|email|http|urllib|collections|importlib|encodings|zoneinfo|ipaddress)/)"
)

# Stages: (label, test on "function (file)"), cumulative share.
STAGES = [
    ("event-loop thread (HTTP parse/write, hand-off)", None),
    ("Django WSGIHandler.__call__ (all of Django)", r"^WSGIHandler\.__call__ "),
    ("DRF APIView.dispatch", r"^APIView\.dispatch "),
    ("DRF APIView.initial (auth, permissions, throttles)", r"^APIView\.initial "),
    ("token lookup", r"\(customers/authentication\.py"),
    ("rate limiter", r"\(couponsite/api/throttling\.py"),
    (
        "idempotency (key insert, replay; the wrapper itself excluded)",
        r"^(_claim_key|_fingerprint|_replay|_storable) ",
    ),
    ("campaign lookup (campaign_for, process cache)", r"^campaign_for "),
    (
        "our services (draws/*/services, vouchers/services)",
        r"\((draws/[a-z]+/services|draws/rush/services/|vouchers/services)",
    ),
    ("serializers", r"\((rest_framework/serializers|[a-z_/]+/serializers\.py)"),
    ("DRF render (Response.rendered_content)", r"^Response\.rendered_content "),
    (
        "DRF exception handler (refusals)",
        r"^(APIView\.handle_exception|exception_handler) ",
    ),
    ("Django middleware (outside the view)", None),
    ("transaction commit (Atomic.__exit__)", r"^Atomic\.__exit__ "),
    ("psycopg (all calls)", r"\(psycopg"),
    ("redis-py (all calls)", r"\(redis/"),
    ("JSON", r"\(json/"),
    ("logging", r"\(logging/"),
]
STAGES = [(n, re.compile(r) if r else None) for n, r in STAGES]
# Innermost frames that wait in C (a socket, epoll, a lock): py-spy's idle test
# did not leave these out on this machine, so they are dropped here and the
# samples kept are compared with the CPU the bench measured.
WAITS = {
    ("Runner.run", "asyncio/runners.py"),  # uvloop's loop in epoll_wait
    ("Connection.wait", "psycopg/connection.py"),  # waiting for Postgres' answer
    ("SocketBuffer._read_from_socket", "redis/_parsers/socket.py"),  # recv from Redis
    ("_worker", "concurrent/futures/thread.py"),  # an idle Django thread
    ("Condition.wait", "threading.py"),
    ("Event.wait", "threading.py"),
}
FRAME = re.compile(r"^(.*) \(([^()]*?)(?::\d+)?\)$")


def parse(files):
    for path in files:
        for line in Path(path).read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames = stack.split(";")
            procs = [f for f in frames if f.startswith("process ")]
            if len(procs) < 2:  # the master's own samples
                continue
            frames = [FRAME.match(f) for f in frames if not f.startswith("process ")]
            yield [(m.group(1), m.group(2)) for m in frames if m], int(count)


def group_of(file):
    if STDLIB.match(file) and not file.startswith(("threading.py", "queue.py")):
        return None
    for name, rx in GROUPS:
        if rx.match(file):
            return name
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ms", type=float)
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--json", action="store_true", help="shares as JSON")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    total, selfs, stages, fself, fcum = 0, Counter(), Counter(), Counter(), Counter()
    waited = 0
    for frames, n in parse(a.files):
        if frames and frames[-1] in WAITS:
            waited += n
            continue
        total += n
        charged = "other"
        for _func, file in reversed(frames):
            g = group_of(file)
            if g:
                charged = g
                break
        selfs[charged] += n
        if frames:
            leaf = frames[-1]
            fself[f"{leaf[0]} ({leaf[1]})"] += n
        keys = {f"{f} ({p})" for f, p in frames}
        for k in keys:
            fcum[k] += n
        text = [f"{f} ({p})" for f, p in frames]
        for label, rx in STAGES:
            if label.startswith("Django middleware"):
                # in the middleware chain, not in the URL resolution and view below it
                hit = any(
                    t.startswith("MiddlewareMixin.__call__ ") for t in text
                ) and not any(t.startswith("BaseHandler._get_response ") for t in text)
            elif rx is None:
                hit = not any("Thread._bootstrap" in t for t in text)
            else:
                hit = any(rx.search(t) for t in text)
            if hit:
                stages[label] += n

    if a.json:
        print(
            json.dumps(
                {
                    "samples": total,
                    "waits": waited,
                    "self": {g: n / total for g, n in selfs.items()},
                    "stages": {label: stages[label] / total for label, _ in STAGES},
                    "ours": {f: n / total for f, n in fcum.items() if "(" in f},
                }
            )
        )
        return

    def row(label, n):
        share = 100 * n / total
        ms = f"{a.ms * n / total:6.3f}" if a.ms else ""
        return f"| {label} | {share:5.1f} % | {ms} |"

    print(f"samples on CPU: {total} (dropped as waits: {waited})")
    print("\nself, by group\n| group | share | ms/req |\n|---|---|---|")
    for g, n in selfs.most_common():
        print(row(g, n))
    print("\ncumulative, by stage\n| stage | share | ms/req |\n|---|---|---|")
    for label, _ in STAGES:
        print(row(label, stages[label]))
    print(
        f"\ntop {a.top} functions by self\n| function | share | ms/req |\n|---|---|---|"
    )
    for f, n in fself.most_common(a.top):
        print(row(f, n))
    ours = re.compile(r"\((draws|vouchers|campaigns|customers|couponsite/api)/")
    print(
        f"\ntop {a.top} of our functions by cumulative\n| function | share | ms/req |\n|---|---|---|"
    )
    for f, n in [x for x in fcum.most_common() if ours.search(x[0])][: a.top]:
        print(row(f, n))


if __name__ == "__main__":
    main()
