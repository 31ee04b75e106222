"""Benchmark scenarios: each prepares its data through the ORM, drives the API with
the load generator, and reads the correctness counts back from Postgres."""

import datetime as dt
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from django.db.models import Count
from django.utils import timezone

from couponsite.redis_client import get_redis

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes and CPU -----------------------------------------------------------

SAMPLE_SECONDS = 0.2  # how often a phase's CPU is sampled (one /proc scan: ~3 ms)
# A stretch of a phase with fewer answers than this says nothing about their cost.
MIN_STRETCH_ANSWERS = 100


def _stat(pid: int) -> tuple[str, int, float] | None:
    """(command name, parent pid, CPU seconds) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _processes() -> dict[int, tuple[str, int, float]]:
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            found[int(entry)] = stat
    return found


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def postgres_role(title: str) -> tuple[str | None, int | None]:
    """(database, parallel leader's pid) of a Postgres process, from its title:
    ``postgres: 15/main: postgres couponsite_bench 127.0.0.1(5432) idle`` is a
    backend of couponsite_bench; ``postgres: 15/main: walwriter`` and the
    postmaster serve every database (None, None)."""
    if not title.startswith("postgres:"):
        return None, None  # the postmaster
    words = title.rsplit(": ", 1)[-1].split()
    if words[:2] == ["parallel", "worker"] and words[-1].isdigit():
        return None, int(words[-1])
    if words[:2] == ["autovacuum", "worker"]:
        return (words[2] if len(words) > 2 else None), None
    if len(words) >= 3 and ("(" in words[2] or words[2] == "[local]"):
        return words[1], None
    return None, None


@dataclass
class Parties:
    """Whose CPU a phase costs: gunicorn (``server_pid`` and its children), the
    Postgres processes that serve ``database`` or every database (the postmaster,
    WAL writer, checkpointer...; not the backends of other databases), and the
    redis-server on ``redis_port``. The machine may be shared: Redis and
    Postgres's common processes also work for whoever else uses them.

    A topology of several processes (``bench.topology``) names the rest: ``more``
    maps a party to a process whose children count with it (a second gunicorn
    node, nginx, HAProxy, PgBouncer), and ``redis_ports`` lists every node of a
    Redis Cluster, each a party ``redis:<port>`` (``redis_port`` is then unused).
    """

    server_pid: int
    database: str | None = None
    redis_port: int | None = None
    more: dict[str, int] = field(default_factory=dict)
    redis_ports: tuple[int, ...] = ()

    def names(self) -> tuple[str, ...]:
        redis = tuple(f"redis:{port}" for port in self.redis_ports) or ("redis",)
        return ("gunicorn", *self.more, "postgres", *redis)


def cpu_by_process(parties: Parties) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each process of the parties."""
    found, leaders = {}, {}
    roots = {parties.server_pid: "gunicorn"} | {
        pid: party for party, pid in parties.more.items()
    }
    for pid, (name, parent, seconds) in _processes().items():
        if pid in roots or parent in roots:
            found[pid] = (roots.get(pid) or roots[parent], seconds)
        elif name.startswith("postgres"):
            database, leader = postgres_role(_command_line(pid))
            if leader is not None:
                leaders[pid] = (leader, seconds)
            elif database is None or parties.database in (None, database):
                found[pid] = ("postgres", seconds)
        elif name.startswith("redis-server"):
            command = _command_line(pid)
            if parties.redis_ports:
                for port in parties.redis_ports:
                    if f":{port} " in f"{command} ":
                        found[pid] = (f"redis:{port}", seconds)
            elif parties.redis_port is None or f":{parties.redis_port}" in command:
                found[pid] = ("redis", seconds)
    for pid, (leader, seconds) in leaders.items():
        if leader in found:
            found[pid] = ("postgres", seconds)
    return found


class CpuMeter:
    """CPU seconds each party spent since the first ``sample()``. A process that
    exits between samples keeps what it had spent by the last sample before; one
    that starts after the first sample counts from zero."""

    def __init__(self, parties: Parties):
        self.parties = parties
        self.start: dict[int, float] = {}
        self.latest: dict[int, tuple[str, float]] = {}
        self.sampled = False

    def sample(self) -> dict[str, float]:
        for pid, (party, seconds) in cpu_by_process(self.parties).items():
            if pid not in self.latest:
                self.start[pid] = seconds if not self.sampled else 0.0
            self.latest[pid] = (party, seconds)
        self.sampled = True
        totals = dict.fromkeys(self.parties.names(), 0.0)
        for pid, (party, seconds) in self.latest.items():
            totals[party] += seconds - self.start[pid]
        return totals


def cpu_ms_per(cpu_seconds: dict[str, float], answers: int) -> dict | None:
    """CPU milliseconds per answer of each party."""
    if not answers:
        return None
    return {
        party: round(seconds * 1000 / answers, 3)
        for party, seconds in cpu_seconds.items()
    }


def cost_by_answer(
    samples: list[tuple[float, dict[str, float]]],
    answers: list[tuple[float, int]],
    started: float,
    min_answers: int = MIN_STRETCH_ANSWERS,
) -> dict:
    """The cost of each kind of answer in a phase that mixes successes (2xx) and
    refusals: the CPU spent in the stretch before the first refusal was answered,
    when only successes were, and in the stretch after the last success, when only
    refusals were, divided by the answers given in that stretch.

    ``samples`` are (time, CPU seconds per party since the phase began) and
    ``answers`` (time, status), both on ``time.monotonic()``; ``started`` is when
    the first request went out. A stretch is bounded by samples, so it starts up
    to one sample period late and ends up to one early; requests in flight at
    either end are counted in part. A stretch with fewer than ``min_answers``
    answers (or a phase of one kind of answer) is left out."""
    successes = [t for t, status in answers if 200 <= status < 300]
    refusals = [t for t, status in answers if not 200 <= status < 300]
    if not successes or not refusals:
        return {}

    def stretch(first, last) -> dict | None:
        (t0, cpu0), (t1, cpu1) = first, last
        given = Counter(status for t, status in answers if t0 < t <= t1)
        count = sum(given.values())
        if count < min_answers:
            return None
        spent = {party: cpu1[party] - cpu0[party] for party in cpu1}
        return {
            "from_second": round(max(0.0, t0 - started), 2),
            "to_second": round(t1 - started, 2),
            "answers": count,
            "statuses": {str(k): v for k, v in sorted(given.items())},
            "server_cpu_seconds": {p: round(v, 2) for p, v in spent.items()},
            "cpu_ms_per_answer": cpu_ms_per(spent, count),
        }

    found = {}
    head = [sample for sample in samples if sample[0] <= min(refusals)]
    if len(head) >= 2 and (before := stretch(head[0], head[-1])):
        found["before_first_refusal"] = before
    tail = [sample for sample in samples if sample[0] >= max(successes)]
    if len(tail) >= 2 and (after := stretch(tail[0], tail[-1])):
        found["after_last_success"] = after
    return found


def machine() -> dict:
    memory = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    versions = {}
    for name, command in {
        "postgres": ["psql", "--version"],
        "redis": ["redis-server", "--version"],
    }.items():
        try:
            versions[name] = subprocess.run(
                command, capture_output=True, text=True
            ).stdout.strip()
        except OSError:
            versions[name] = "?"
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "python": platform.python_version(),
        **versions,
    }


@dataclass
class Context:
    port: int
    tokens_file: Path
    concurrency: int  # the load generator's clients, one connection each at a time
    keep_alive: bool = False  # persistent connections (see bench.loadgen)
    timeout: float = 10.0  # seconds a request may wait for its answer
    # Open-loop arrivals ({"mode": "open", "within"|"ramp": s, "processes": n}; see
    # bench.loadgen) for every phase that does not ask for the closed loop; None:
    # ``concurrency`` looping clients.
    arrivals: dict | None = None
    # The processes the run talks to (bench.topology.Topology), set by bench.main.
    topology: object | None = None
    # The draw's hot coupon type spreads its quota over this many rows
    # (``CouponType.quota_shards``; 1: the type row is the counter).
    quota_shards: int = 1
    scratch: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-"))
    )

    def parties(self) -> Parties:
        return self.topology.parties()

    def node_urls(self) -> list[str]:
        """Each gunicorn node's own URL (behind the proxy, if there is one)."""
        return self.topology.node_urls

    @property
    def topology_kind(self) -> str:
        return self.topology.kind if self.topology is not None else "single"


def run_phase(context: Context, plan: dict) -> dict:
    """One load-generator run; the result with every party's CPU beside it: in all
    (seconds), per answer (milliseconds), and per kind of answer where the phase
    mixes them (``cost_by_answer``)."""
    plan = {
        "host": "127.0.0.1",
        "port": context.port,
        "concurrency": context.concurrency,
        "keep_alive": context.keep_alive,
        "timeout": context.timeout,
        "tokens_file": str(context.tokens_file),
        **plan,
    }
    if context.arrivals and plan.get("arrivals") != "closed":
        plan["arrivals"] = context.arrivals
    else:
        plan.pop("arrivals", None)
    plan_file = context.scratch / "plan.json"
    result_file = context.scratch / "result.json"
    plan_file.write_text(json.dumps(plan))
    meter = CpuMeter(context.parties())
    samples = [(time.monotonic(), meter.sample())]
    command = [sys.executable, "-m", "bench.loadgen", str(plan_file), str(result_file)]
    loadgen = subprocess.Popen(command, cwd=ROOT)
    while True:
        try:
            loadgen.wait(timeout=SAMPLE_SECONDS)
            break
        except subprocess.TimeoutExpired:
            samples.append((time.monotonic(), meter.sample()))
    samples.append((time.monotonic(), meter.sample()))
    if loadgen.returncode:
        raise subprocess.CalledProcessError(loadgen.returncode, command)
    result = json.loads(result_file.read_text())
    answers = [(t, status) for t, status in result.pop("answer_times")]
    started = result.pop("started_monotonic")
    spent = samples[-1][1]
    result["server_cpu_seconds"] = {p: round(v, 2) for p, v in spent.items()}
    result["cpu_ms_per_request"] = cpu_ms_per(spent, result["answered"])
    result["cost_by_answer"] = cost_by_answer(samples, answers, started)
    return result


def flush_redis() -> None:
    """A scenario starts from an empty Redis, with its customers still signed in:
    their tokens' thin entries are written again, as sign-in wrote them."""
    from customers.authentication import remember_tokens
    from customers.models import ApiToken

    redis = get_redis()
    if redis is not None:
        redis.flushdb()
        remember_tokens(
            list(
                ApiToken.objects.filter(
                    customer__isnull=False, revoked_at__isnull=True
                ).values_list("digest", "customer_id", "expires_at")
            ),
            create=True,
        )


def local_noon_zone() -> str:
    """A fixed-offset zone where it is now around noon: far from local midnight, so a
    scenario never straddles a day turnover."""
    offset = (12 - dt.datetime.now(dt.UTC).hour + 12) % 24 - 12  # hours east of UTC
    return f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"


def _campaign(kind: str, **fields):
    from campaigns.models import Campaign  # models: Django is set up in bench.main

    now = timezone.now()
    return Campaign.objects.create(
        name=f"Bench {kind} {time.time_ns()}",
        slug=f"bench-{kind}-{time.time_ns()}",
        kind=kind,
        timezone=local_noon_zone(),
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=1),
        **fields,
    )


def _coupon_type(campaign, **fields):
    from campaigns.models import CouponType  # models: Django is set up in bench.main

    return CouponType.objects.create(
        campaign=campaign,
        name="Hot prize",
        benefit_kind=CouponType.Kind.AMOUNT,
        amount=Decimal(5),
        currency="USD",
        **fields,
    )


# --- scenarios ----------------------------------------------------------------------


class Scenario:
    """What every scenario has: ``run`` drives the API and reads the counts back;
    ``verdict`` says what in the result shows the product wrong."""

    customers: int
    # phase -> {status: the error codes allowed with it}; any other answer is wrong.
    answers: dict[str, dict[str, set[str]]] = {}
    # correctness counts that must be 0
    must_be_zero: tuple[str, ...] = ("5xx",)

    def run(self, context: Context) -> dict:
        raise NotImplementedError

    def expected_counts(self) -> dict[str, int]:
        """Correctness counts and the values a right product gives them."""
        return {}

    def verdict(self, name: str, result: dict) -> list[str]:
        """What is wrong in this scenario's result (empty when all is well)."""
        counts = result["correctness"]
        found = [
            f"{name}: {key} = {counts.get(key)}"
            for key in self.must_be_zero
            if counts.get(key) != 0
        ]
        found += [
            f"{name}: {key} = {counts.get(key)}, expected {want}"
            for key, want in self.expected_counts().items()
            if counts.get(key) != want
        ]
        for phase_name, phase in result["phases"].items():
            where = f"{name}/{phase_name}"
            if phase["answered"] != phase["requests"]:
                found.append(
                    f"{where}: {phase['requests'] - phase['answered']} unanswered"
                )
            allowed = self.answers.get(phase_name, {})
            found += [
                f"{where}: {count} answered {status}"
                for status, count in phase["statuses"].items()
                if status not in allowed
            ]
            codes = set().union(*allowed.values())
            found += [
                f"{where}: {count} answered {code}"
                for code, count in phase["error_codes"].items()
                if code not in codes
            ]
        return found


class Baseline(Scenario):
    """A trivial authenticated DRF endpoint (GET /api/v1/me): this server's ceiling."""

    customers = 1_000
    answers = {"me": {"200": set()}}
    must_be_zero = ()

    def run(self, context: Context) -> dict:
        return {
            "phases": {
                "me": run_phase(
                    context,
                    {
                        "method": "GET",
                        "path": "/api/v1/me",
                        "limit": 1_000,
                        "total": 20_000,
                    },
                )
            },
            "correctness": {},
        }


class Healthz(Scenario):
    """30,000 GETs of /healthz (no sign-in, no database): what the load generator
    and the server's thinnest answer reach together; not in ``make bench``."""

    customers = 1
    requests = 30_000
    answers = {"healthz": {"200": set()}}
    must_be_zero = ()

    def run(self, context: Context) -> dict:
        phase = run_phase(
            context,
            {
                "method": "GET",
                "path": "/healthz",
                "limit": 1,
                "total": self.requests,
            },
        )
        return {"phases": {"healthz": phase}, "correctness": {}}


class DrawStorm(Scenario):
    """5,000 customers draw once; one hot coupon type, quota 500, sure to hit
    (its quota over ``--quota-shards`` rows; 1 by default)."""

    customers = 5_000
    quota = 500
    answers = {"draws": {"201": set()}}  # a losing draw is a 201 too
    must_be_zero = ("oversold", "false_losses", "5xx")

    def expected_counts(self) -> dict[str, int]:
        return {
            "draws_recorded": self.customers,
            "wins": self.quota,
            "issued_total": self.quota,
            "vouchers": self.quota,
        }

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from campaigns.quotas import quota_issued, quota_spread
        from draws.models import Draw
        from vouchers.models import Voucher

        flush_redis()
        campaign = _campaign("draw")
        coupon_type = _coupon_type(
            campaign,
            probability=1,
            total_quota=self.quota,
            quota_shards=context.quota_shards,
        )
        if context.quota_shards > 1:
            quota_spread(coupon_type=coupon_type)
        phase = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/draws",
                "limit": self.customers,
            },
        )
        wins = Draw.objects.filter(campaign=campaign, won=True).count()
        issued = quota_issued([coupon_type.pk])[coupon_type.pk].total
        return {
            "phases": {"draws": phase},
            "quota_shards": context.quota_shards,
            "correctness": {
                "draws_recorded": Draw.objects.filter(campaign=campaign).count(),
                "wins": wins,
                "quota": self.quota,
                "issued_total": issued,
                "vouchers": Voucher.objects.filter(coupon_type=coupon_type).count(),
                "oversold": max(0, wins - self.quota),
                "false_losses": max(0, min(self.quota, self.customers) - wins),
                "5xx": _server_errors(phase),
            },
        }


class RedeemStorm(Scenario):
    """5,000 customers each redeem their own voucher once (seed 001's validate)."""

    customers = 5_000
    answers = {"redeem": {"200": set()}}
    must_be_zero = ("not_redeemed", "5xx")

    def expected_counts(self) -> dict[str, int]:
        return {"vouchers": self.customers, "redeemed": self.customers}

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from customers.management.commands.load_fixture import load_phone
        from customers.models import Customer
        from vouchers.models import Voucher
        from vouchers.services import vouchers_generate

        flush_redis()
        emails = [f"load{n}@example.com" for n in range(self.customers)]
        vouchers = vouchers_generate(
            acting_user=None,
            emails=emails,
            offer_name=f"Bench {time.time_ns()}",
            discount=Decimal(10),
            expires_at=timezone.now() + dt.timedelta(days=1),
        )
        by_email = {voucher.email: voucher.code for voucher in vouchers}
        # The tokens file is in customer order, so body n is customer n's code.
        owners = dict(
            Customer.objects.filter(
                phone__in=[load_phone(n) for n in range(self.customers)]
            ).values_list("phone", "email")
        )
        bodies = context.scratch / "redeem-bodies.txt"
        bodies.write_text(
            "\n".join(
                json.dumps({"code": by_email[owners[load_phone(n)]]})
                for n in range(self.customers)
            )
        )
        phase = run_phase(
            context,
            {
                "method": "POST",
                "path": "/api/v1/vouchers/redeem",
                "limit": self.customers,
                "bodies_file": str(bodies),
            },
        )
        redeemed = Voucher.objects.filter(
            pk__in=[v.pk for v in vouchers], status=Voucher.Status.REDEEMED
        ).count()
        return {
            "phases": {"redeem": phase},
            "correctness": {
                "vouchers": len(vouchers),
                "redeemed": redeemed,
                "not_redeemed": len(vouchers) - redeemed,
                "5xx": _server_errors(phase),
            },
        }


class ClaimStorm(Scenario):
    """10,000 customers claim once from a pool of 2,000 coupons."""

    customers = 10_000
    coupons = 2_000
    answers = {"claims": {"201": set(), "409": {"SOLD_OUT"}}}
    must_be_zero = ("coupons_with_two_claims", "left_over", "5xx")

    def expected_counts(self) -> dict[str, int]:
        return {
            "claims": self.coupons,
            "held": self.coupons,
            "distinct_holders": self.coupons,
            "sold_out_answers": self.customers - self.coupons,
        }

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from draws.claim.releases import batch_release
        from draws.models import Claim
        from vouchers.models import Voucher

        flush_redis()
        campaign = _campaign("claim")
        coupon_type = _coupon_type(campaign, hold_seconds=600)
        batch_release(acting_user=None, coupon_type=coupon_type, count=self.coupons)
        phase = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/claims",
                "limit": self.customers,
            },
        )
        claims = Claim.objects.filter(campaign=campaign)
        doubled = (
            claims.values("voucher").annotate(n=Count("id")).filter(n__gt=1).count()
        )
        held = Voucher.objects.filter(
            coupon_type=coupon_type, status=Voucher.Status.HELD
        )
        return {
            "phases": {"claims": phase},
            "correctness": {
                "coupons": self.coupons,
                "claims": claims.count(),
                "held": held.count(),
                "distinct_holders": held.values("owner").distinct().count(),
                "coupons_with_two_claims": doubled,
                "sold_out_answers": phase["error_codes"].get("SOLD_OUT", 0),
                "left_over": self.coupons - held.count(),
                "5xx": _server_errors(phase),
            },
        }


class GenerateVouchers(Scenario):
    """Seed 001's generate for 10,000 emails in one request (staff), as staff send
    it: with ``send_emails`` left at its default (true). The request measured is
    the generation and the queueing of the emails (10 task rows of 1,000 vouchers
    each, in the generation's transaction); the emails themselves are rendered
    and sent later by the task worker, which the bench does not run, so they are
    not in the figure. ``emails_queued`` counts the vouchers the queued tasks name."""

    customers = 1
    emails = 10_000
    answers = {"generate-10000": {"201": set()}}

    def expected_counts(self) -> dict[str, int]:
        return {
            "vouchers": self.emails,
            "distinct_codes": self.emails,
            "emails_queued": self.emails,
        }

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from django_tasks_db.models import DBTaskResult

        from customers.services import staff_user_get_or_create, token_create
        from vouchers.models import Voucher

        staff = staff_user_get_or_create(username="bench-staff")
        tokens = context.scratch / "staff-token.txt"
        tokens.write_text(token_create(user=staff).key + "\n")
        offer = f"Bench offer {time.time_ns()}"
        phase = run_phase(
            context,
            {
                "method": "POST",
                "path": "/api/v1/vouchers",
                "tokens_file": str(tokens),
                "body": {
                    "emails": [f"gen{n}@example.com" for n in range(self.emails)],
                    "offer_name": offer,
                    "discount": "22.1",
                    "expires_at": "2099-01-01T00:00:00Z",
                },
                "concurrency": 1,
                "timeout": 60,
            },
        )
        made = Voucher.objects.filter(offer__name=offer)
        made_ids = set(made.values_list("pk", flat=True))
        queued = [
            voucher_id
            for args in DBTaskResult.objects.filter(
                task_path="vouchers.tasks.send_voucher_emails"
            ).values_list("args_kwargs", flat=True)
            for voucher_id in args["args"][0]
            if voucher_id in made_ids
        ]
        return {
            "phases": {"generate-10000": phase},
            "correctness": {
                "vouchers": made.count(),
                "distinct_codes": made.values("code").distinct().count(),
                "emails_queued": len(set(queued)),
                "expected": self.emails,
                "generate_10000_seconds": phase["seconds"],
                "5xx": _server_errors(phase),
            },
        }


class ReleaseBatches(Scenario):
    """Releasing coupons: 10,000 through the API (one request), 1,000,000 by the command."""

    customers = 1
    coupons = 1_010_000
    answers = {"release-10000-api": {"201": set()}}

    def expected_counts(self) -> dict[str, int]:
        return {"coupons_in_pool": self.coupons}

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from customers.services import staff_user_get_or_create, token_create
        from vouchers.models import Voucher

        campaign = _campaign("claim")
        coupon_type = _coupon_type(campaign)
        staff = staff_user_get_or_create(username="bench-staff")
        tokens = context.scratch / "staff-token.txt"
        tokens.write_text(token_create(user=staff).key + "\n")
        api = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/releases",
                "tokens_file": str(tokens),
                "body": {"coupon_type": coupon_type.pk, "count": 10_000},
                "concurrency": 1,
                "timeout": 60,
            },
        )
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "release_coupons",
                "--campaign",
                campaign.slug,
                "--coupon-type",
                str(coupon_type.pk),
                "--count",
                "1000000",
                "--no-progress",
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        million_seconds = round(time.perf_counter() - started, 1)
        return {
            "phases": {"release-10000-api": api},
            "correctness": {
                "coupons_in_pool": Voucher.objects.filter(
                    coupon_type=coupon_type
                ).count(),
                "expected": self.coupons,
                "release_10000_api_seconds": api["seconds"],
                "release_1000000_command_seconds": million_seconds,
                "5xx": _server_errors(api),
            },
        }


class Rush(Scenario):
    """Seed 003 at scale: every customer reserves, then every customer grabs once.

    The reservation window opens now; when every reservation is in, the windows
    are moved (as an employee would) so the rush opens seconds later, the day is
    loaded into Redis (``rush_warm``, as ``manage.py warm_rush`` does), and the
    grabs run inside the one-minute rush window.

    On several gunicorn nodes (``--topology cluster``) a bounded set of grabs
    is repeated on every node directly (``rush_repeats``): one answer per
    repeat whichever node answers, the verdict checks (``repeats_differing``).
    """

    answers = {
        "reserve": {"201": set()},
        "grab": {"201": set(), "409": {"SOLD_OUT"}},
    }
    must_be_zero = ("oversold", "undersold", "unanswered", "5xx")

    def __init__(self, customers: int):
        self.customers = customers
        self.coupons = customers // 5  # the rush day's share of the reservations

    @staticmethod
    def repeats(context: Context) -> bool:
        """Repeats are sent where another node may answer them."""
        return len(context.node_urls()) > 1

    def verdict(self, name: str, result: dict) -> list[str]:
        found = super().verdict(name, result)
        counts = result["correctness"]
        if "repeats_sent" in counts:
            if counts["repeats_differing"] != 0:
                examples = (result.get("repeats") or {}).get("examples", [])[:3]
                found.append(
                    f"{name}: repeats_differing = {counts['repeats_differing']} "
                    f"of {counts['repeats_sent']} (e.g. {examples})"
                )
            if counts["repeats_same"] != counts["repeats_sent"]:
                found.append(
                    f"{name}: repeats_same = {counts['repeats_same']}, "
                    f"expected {counts['repeats_sent']}"
                )
            if not counts["repeats_sent"]:
                found.append(f"{name}: no repeat was sent")
        return found

    def expected_counts(self) -> dict[str, int]:
        return {
            "reservations": self.customers,
            "coupons": self.coupons,
            "winners": self.coupons,
            "vouchers_issued": self.coupons,
            "sold_out_answers": self.customers - self.coupons,
        }

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from draws.models import Grab, Reservation, RushDay
        from draws.rush.services import rush_warm
        from vouchers.models import Voucher

        flush_redis()
        now = timezone.now()
        campaign = _campaign("rush")
        local = campaign.local_now(now)
        campaign.reservation_opens = (
            (local - dt.timedelta(seconds=5)).time().replace(microsecond=0)
        )
        campaign.reservation_closes = (
            (local + dt.timedelta(minutes=30)).time().replace(microsecond=0)
        )
        campaign.rush_opens = (
            (local + dt.timedelta(minutes=31)).time().replace(microsecond=0)
        )
        campaign.rush_closes = (
            (local + dt.timedelta(minutes=32)).time().replace(microsecond=0)
        )
        campaign.save()
        coupon_type = _coupon_type(campaign)
        reserve = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/reservations",
                "limit": self.customers,
                "max_seconds": 600,
                # Reservations come over the half hour before the rush, not in
                # its second: the looping clients, whatever the arrival mode.
                "arrivals": "closed",
            },
        )
        # Close reservations now and open the rush a few seconds later (processes
        # keep the campaign row for up to 5 s).
        local = campaign.local_now(timezone.now())
        opens = (local + dt.timedelta(seconds=7)).replace(microsecond=0)
        campaign.reservation_closes = (
            (local + dt.timedelta(seconds=1)).time().replace(microsecond=0)
        )
        campaign.rush_opens = opens.time()
        campaign.rush_closes = (opens + dt.timedelta(seconds=59)).time()
        campaign.save()
        time.sleep(
            max(0.0, (opens - campaign.local_now(timezone.now())).total_seconds()) + 0.2
        )
        rush_warm(campaign=campaign)
        path = f"/api/v1/campaigns/{campaign.slug}/grabs"
        keyed, plain = (
            repeat_plan(self.customers) if self.repeats(context) else ([], [])
        )
        grab = run_phase(
            context,
            {
                "method": "POST",
                "path": path,
                "limit": self.customers,
                "max_seconds": 59,
                "idempotency_keys": keyed,
                "idempotency_prefix": REPEAT_KEY_PREFIX,
            },
        )
        repeats = None
        if keyed:
            rush_ends = opens + dt.timedelta(seconds=59)
            repeats = rush_repeats(
                context,
                campaign=campaign,
                path=path,
                keyed=keyed,
                # Without a key, a repeat after the window says NOT_IN_ACTIVE_TIME
                # (the window is checked first): only while it has time left.
                plain=plain
                if (rush_ends - campaign.local_now(timezone.now())).total_seconds() > 10
                else [],
            )
        day = RushDay.objects.get(campaign=campaign)
        winners = Grab.objects.filter(campaign=campaign).count()
        issued = Voucher.objects.filter(
            coupon_type=coupon_type, status=Voucher.Status.ISSUED, owner__isnull=False
        ).count()
        unanswered = sum(grab["unanswered"].values()) + sum(
            reserve["unanswered"].values()
        )
        repeat_counts = (
            {
                "repeats_sent": repeats["sent"],
                "repeats_same": repeats["same"],
                "repeats_differing": repeats["differing"],
            }
            if repeats is not None
            else {}
        )
        return {
            "phases": {"reserve": reserve, "grab": grab},
            **({"repeats": repeats} if repeats is not None else {}),
            "correctness": {
                **repeat_counts,
                "reservations": Reservation.objects.filter(campaign=campaign).count(),
                "coupons": day.coupons,
                "expected_coupons": self.coupons,
                "winners": winners,
                "vouchers_issued": issued,
                "oversold": max(0, winners - day.coupons),
                "undersold": max(0, day.coupons - winners),
                "sold_out_answers": grab["error_codes"].get("SOLD_OUT", 0),
                "unanswered": unanswered,
                "grab_phase_seconds": grab["seconds"],
                "5xx": _server_errors(reserve) + _server_errors(grab),
            },
        }


# --- one answer per repeat, whichever node answers ----------------------------------

REPEATS = 100  # at most, of each kind
REPEAT_KEY_PREFIX = "bench-grab-"


def repeat_plan(customers: int) -> tuple[list[int], list[int]]:
    """Which customers (token indices) repeat their grab: those whose first grab
    carries an Idempotency-Key, and as many repeating without one; spread over
    the arrival order, so both winners and losers repeat."""
    count = min(REPEATS, max(1, customers // 10))
    stride = customers // count
    return [n * stride for n in range(count)], [n * stride + 1 for n in range(count)]


def _post(base_url: str, path: str, token: str, key: str | None) -> tuple:
    """(status, decoded JSON body or None, replayed header) of one POST."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if key:
        headers["Idempotency-Key"] = key
    try:
        connection.request("POST", path, headers=headers)
        answer = connection.getresponse()
        raw = answer.read()
        replayed = answer.getheader("Idempotent-Replayed")
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__, None
    finally:
        connection.close()
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw[:200].decode(errors="replace")
    return answer.status, body, replayed


def rush_repeats(
    context: Context, *, campaign, path: str, keyed: list[int], plain: list[int]
) -> dict:
    """Send the grab of each listed customer again to every gunicorn node
    directly, whichever answered the first, and compare:

    - ``keyed`` customers sent their first grab with an Idempotency-Key: each
      node must replay the stored first answer (``Idempotent-Replayed: true``,
      the same status and body), and that answer must be the customer's lot (201
      for a winner, 409 SOLD_OUT for the others);
    - ``plain`` customers repeat without a key: each node must say 409
      ALREADY_RECEIVED to a winner and 409 SOLD_OUT to the others (the day's
      answers are final), though only the node that answered first has either
      in its process memory.

    A keyed customer whose first grab has no stored answer (the phase ended
    before it was sent) is left out and counted (``first_unanswered``).
    """
    from couponsite.models import IdempotencyKey
    from customers.models import ApiToken
    from draws.models import Grab

    tokens = context.tokens_file.read_text().split()
    wanted = {index: tokens[index] for index in [*keyed, *plain]}
    customer_of = dict(
        ApiToken.objects.filter(
            digest__in=[ApiToken.digest_of(token) for token in wanted.values()]
        ).values_list("digest", "customer_id")
    )
    winners = set(
        Grab.objects.filter(campaign=campaign).values_list("customer_id", flat=True)
    )
    stored = {
        (row.owner, row.key): (row.response_status, row.response_body)
        for row in IdempotencyKey.objects.filter(
            key__in=[f"{REPEAT_KEY_PREFIX}{index}" for index in keyed]
        )
    }

    def lot(customer_id) -> tuple[int, str]:
        return (201, "") if customer_id in winners else (409, "SOLD_OUT")

    # A keyed customer whose first grab has no stored answer never had one (the
    # phase ended first; its unanswered count says so): nothing to repeat.
    unanswered = [
        index
        for index in keyed
        if (
            f"customer:{customer_of.get(ApiToken.digest_of(wanted[index]))}",
            f"{REPEAT_KEY_PREFIX}{index}",
        )
        not in stored
    ]
    keyed = [index for index in keyed if index not in unanswered]
    checks = []  # (index, kind, node, key)
    for index in keyed:
        for node in context.node_urls():
            checks.append(
                (index, "idempotency_key", node, f"{REPEAT_KEY_PREFIX}{index}")
            )
    for index in plain:
        for node in context.node_urls():
            checks.append((index, "again", node, None))

    def check(item) -> dict:
        index, kind, node, key = item
        customer_id = customer_of.get(ApiToken.digest_of(wanted[index]))
        status, body, replayed = _post(node, path, wanted[index], key)
        code = body.get("code", "") if isinstance(body, dict) else ""
        if kind == "idempotency_key":
            first = stored.get((f"customer:{customer_id}", key))
            want_status, want_code = lot(customer_id)
            same = (
                first is not None
                and (first[0], (first[1] or {}).get("code", ""))
                == (want_status, want_code)
                and (status, body) == first
                and replayed == "true"
            )
            expected = first
        else:
            want_status, want_code = lot(customer_id)
            if want_status == 201:
                want_code = "ALREADY_RECEIVED"
            expected = (409, want_code)
            same = (status, code) == expected
        return {
            "customer": index,
            "kind": kind,
            "node": node,
            "same": same,
            "expected": expected if same else repr(expected)[:200],
            "got": (status, code or None, replayed),
        }

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(check, checks))
    by_node = Counter((r["node"], r["kind"], r["same"]) for r in results)
    differing = [r for r in results if not r["same"]]
    return {
        "sent": len(results),
        "same": len(results) - len(differing),
        "differing": len(differing),
        "customers": {
            "idempotency_key": len(keyed),
            "again": len(plain),
            "first_unanswered": len(unanswered),
        },
        "winners_among_them": sum(
            customer_of.get(ApiToken.digest_of(wanted[i])) in winners
            for i in [*keyed, *plain]
        ),
        "by_node": [
            {"node": node, "kind": kind, "same": same, "count": count}
            for (node, kind, same), count in sorted(by_node.items())
        ],
        "examples": [
            {key: r[key] for key in ("customer", "kind", "node", "expected", "got")}
            for r in differing[:5]
        ],
    }


def _server_errors(phase: dict) -> int:
    return sum(
        count for status, count in phase["statuses"].items() if status.startswith("5")
    )


ALL = {
    "baseline": Baseline(),
    "draw": DrawStorm(),
    "claim": ClaimStorm(),
    "redeem": RedeemStorm(),
    "release": ReleaseBatches(),
    "generate": GenerateVouchers(),
    "rush-300": Rush(300),
    "rush-30000": Rush(30_000),
    "healthz": Healthz(),
}
# What `python -m bench` (and `make bench`) runs when no scenario is named.
DEFAULT = tuple(name for name in ALL if name != "healthz")


# --- report -------------------------------------------------------------------------


def failures(report: dict) -> list[str]:
    """What is wrong in a report, scenario by scenario (empty when all is well)."""
    found = []
    for name, result in report["scenarios"].items():
        if name not in ALL:
            found.append(f"{name}: no such scenario")
            continue
        found += ALL[name].verdict(name, result)
    return found


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value >= 1 else f"{value:.3f}"


def _counts(counts: dict) -> str:
    return ", ".join(
        f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}" for k, v in counts.items()
    )


STRETCHES = {
    "before_first_refusal": "only successes answered",
    "after_last_success": "only refusals answered",
}


def load_shape(load: dict) -> str:
    arrivals = load.get("arrivals")
    if arrivals:
        window = (
            f"over a {arrivals['ramp']} s ramp (rate growing linearly)"
            if arrivals.get("ramp")
            else f"within {arrivals.get('within')} s, evenly"
        )
        return (
            f"open-loop arrivals: every customer of a phase arrives {window}, on a "
            f"connection of its own (`Connection: close`), from "
            f"{arrivals['processes']} generator process(es); latency from each "
            "customer's arrival; the Rush's reservations on "
            f"{load['connections']} looping clients"
        )
    if load.get("keep_alive"):
        return (
            f"{load['connections']} clients, each on a keep-alive connection it "
            "reopens when the server closes it; every request sent once"
        )
    return (
        f"{load['connections']} clients, a new connection per request "
        "(`Connection: close`); every request sent once"
    )


def party_sums(cost: dict) -> dict:
    """Per-party figures folded into the table's columns: ``gunicorn`` (every
    node), ``postgres``, ``redis`` (every node of a cluster), and the rest
    (a proxy, PgBouncer; and each node apart when there are several)."""
    if not cost:
        return {}
    app = {p: v for p, v in cost.items() if p.startswith("gunicorn")}
    redis = {p: v for p, v in cost.items() if p.startswith("redis")}
    others = {p: v for p, v in cost.items() if p not in redis and p != "postgres"}
    if len(app) == 1:
        others = {p: v for p, v in others.items() if p not in app}
    return {
        "gunicorn": sum(app.values()) if app else None,
        "postgres": cost.get("postgres"),
        "redis": sum(redis.values()) if redis else None,
        "others": others,
    }


def _others(others: dict) -> str:
    return ", ".join(f"{p} {_ms(v)}" for p, v in others.items()) or "-"


def topology_line(topology: dict) -> str:
    kind = topology.get("kind", "single")
    if kind == "single":
        return "Topology: single (the load generator talks to gunicorn directly)."
    parts = [
        f"{topology['proxy']} in front of {topology['gunicorn_nodes']} gunicorn node(s)"
    ]
    if topology.get("pgbouncer"):
        parts.append(
            f"PgBouncer ({topology['pgbouncer']['pool_mode']} pooling, "
            f"{topology['pgbouncer']['pool_size']} server connections)"
        )
    redis = topology.get("redis", {})
    if redis.get("cluster_ports"):
        parts.append(f"a Redis Cluster of {len(redis['cluster_ports'])} masters")
    return f"Topology: {kind}: {', '.join(parts)}; the load generator talks to the proxy only."


def markdown(report: dict) -> str:
    """The report as markdown: one row per phase with its cost per request, the cost
    of each kind of answer where a phase mixes them, and the correctness counts."""
    rows = []
    if "load" in report:
        rows += [f"Load: {load_shape(report['load'])}.", ""]
    if "topology" in report:
        rows += [topology_line(report["topology"]), ""]
    rows += [
        "| scenario / phase | answered | req/s | x baseline | last answer s | p50 ms | p95 ms | p99 ms | statuses | app CPU ms/req | Postgres CPU ms/req | Redis CPU ms/req | other parties ms/req | connections opened | loadgen CPU |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    stretches = []
    for name, result in report["scenarios"].items():
        for phase_name, phase in result["phases"].items():
            cost = party_sums(phase.get("cpu_ms_per_request") or {})
            connections = phase.get("connections", {})
            rows.append(
                f"| {name} / {phase_name} | {phase['answered']:,} | {phase['throughput'] or 0:,} | "
                f"{phase.get('ratio_to_baseline', '')} | {phase.get('last_answer_seconds', '')} | "
                f"{phase['p50_ms']} | {phase['p95_ms']} | {phase['p99_ms']} | "
                f"{_counts(phase['statuses'])} | {_ms(cost.get('gunicorn'))} | "
                f"{_ms(cost.get('postgres'))} | {_ms(cost.get('redis'))} | "
                f"{_others(cost.get('others', {}))} | "
                f"{connections.get('opened', 0):,} | "
                f"{phase['loadgen_cpu_share']:.0%} of a core |"
            )
            for key, stretch in phase.get("cost_by_answer", {}).items():
                cost = party_sums(stretch["cpu_ms_per_answer"])
                stretches.append(
                    f"| {name} / {phase_name} | {STRETCHES[key]}, "
                    f"{stretch['from_second']} to {stretch['to_second']} s | "
                    f"{_counts(stretch['statuses'])} | {_ms(cost['gunicorn'])} | "
                    f"{_ms(cost['postgres'])} | {_ms(cost['redis'])} | "
                    f"{_others(cost['others'])} |"
                )
    if stretches:
        rows += [
            "",
            "Where a phase mixes successes and refusals: the CPU of the stretch in which "
            "only one kind was answered, per answer of that stretch.",
            "",
            "| scenario / phase | stretch | answers | app CPU ms/answer | Postgres | Redis | others |",
            "|---|---|---|---|---|---|---|",
            *stretches,
        ]
    opened = [
        (f"{name} / {phase_name}", phase["arrivals"])
        for name, result in report["scenarios"].items()
        for phase_name, phase in result["phases"].items()
        if phase.get("arrivals")
    ]
    if opened:
        rows += [
            "",
            "Open-loop phases: connection errors by kind, how late the generator set "
            "customers off (its own lag behind the schedule), its CPU per process.",
            "",
            "| scenario / phase | customers | refused | reset | timed out | other errors | set off late p50 / p99 ms | generator CPU s by process | file limit caps |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for where, arrivals in opened:
            errors = dict(arrivals["connection_errors"])
            main = [errors.pop(kind, 0) for kind in ("refused", "reset", "timed_out")]
            rows.append(
                f"| {where} | {arrivals['customers']:,} | {main[0]:,} | {main[1]:,} | "
                f"{main[2]:,} | {_counts(errors) or 0} | "
                f"{arrivals['set_off_late_p50_ms']} / {arrivals['set_off_late_p99_ms']} | "
                f"{', '.join(str(c) for c in arrivals['loadgen_cpu_seconds_by_process'])} | "
                f"{'yes' if arrivals['capped_by_file_limit'] else 'no'} |"
            )
    checks = ["", "| scenario | correctness |", "|---|---|"]
    for name, result in report["scenarios"].items():
        if result["correctness"]:
            checks.append(f"| {name} | {_counts(result['correctness'])} |")
    return "\n".join(rows + checks)


def write_docs(report: dict, table: str, docs: Path | None = None) -> None:
    """Put the report into docs/performance.md between its markers: a run of
    open-loop arrivals between ``bench-open:start``/``end``, one on
    keep-alive connections between ``bench-keep-alive:start``/``end``, any other
    between ``bench:start``/``end``, so that each shape's latest run stays; a run
    on another topology than ``single`` adds ``-proxy`` or ``-cluster`` to the name."""
    docs = docs or ROOT / "docs" / "performance.md"
    text = docs.read_text() if docs.exists() else "# Performance\n"
    load = report.get("load", {})
    section = (
        "bench-open"
        if load.get("arrivals")
        else "bench-keep-alive"
        if load.get("keep_alive")
        else "bench"
    )
    kind = report.get("topology", {}).get("kind", "single")
    if kind != "single":  # each topology's latest run of each shape stays
        section += f"-{kind}"
    marker_start, marker_end = f"<!-- {section}:start -->", f"<!-- {section}:end -->"
    m = report["machine"]
    block = (
        f"{marker_start}\nLatest run: {report['started']} on {m['cores']} cores ({m['cpu']}), "
        f"{m['memory_gib']} GiB, Python {m['python']}, {m['postgres']}, {m['redis']}.\n\n"
        f"{table}\n{marker_end}"
    )
    if marker_start in text:
        head, rest = text.split(marker_start, 1)
        text = head + block + rest.split(marker_end, 1)[1]
    else:
        text += "\n" + block + "\n"
    docs.parent.mkdir(exist_ok=True)
    docs.write_text(text)
