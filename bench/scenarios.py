"""Benchmark scenarios: each prepares its data through the ORM, drives the API with
the load generator, and reads the correctness counts back from Postgres."""

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db.models import Count
from django.utils import timezone

from couponsite.redis_client import get_redis
from couponsite.testing.live_server import LiveServer

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- processes and CPU -----------------------------------------------------------


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


def cpu_by_process(server_pid: int) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each gunicorn (master, workers), Postgres and Redis process."""
    parties = {}
    for pid, (name, parent, seconds) in _processes().items():
        if pid == server_pid or parent == server_pid:
            parties[pid] = ("gunicorn", seconds)
        elif name.startswith("postgres"):
            parties[pid] = ("postgres", seconds)
        elif name.startswith("redis-server"):
            parties[pid] = ("redis", seconds)
    return parties


def cpu_spent(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds each party spent between two snapshots (processes that exited in
    between are not counted: Postgres backends of short connections)."""
    totals = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (party, seconds) in after.items():
        totals[party] += seconds - before.get(pid, (party, 0.0))[1]
    return {party: round(seconds, 2) for party, seconds in totals.items()}


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
    concurrency: int
    server: LiveServer | None = None
    scratch: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="bench-"))
    )


def run_phase(context: Context, plan: dict) -> dict:
    """One load-generator run; the result with every party's CPU seconds beside it."""
    plan = {
        "host": "127.0.0.1",
        "port": context.port,
        "concurrency": context.concurrency,
        "tokens_file": str(context.tokens_file),
        **plan,
    }
    plan_file = context.scratch / "plan.json"
    result_file = context.scratch / "result.json"
    plan_file.write_text(json.dumps(plan))
    before = cpu_by_process(context.server.pid)
    subprocess.run(
        [sys.executable, "-m", "bench.loadgen", str(plan_file), str(result_file)],
        cwd=ROOT,
        check=True,
    )
    after = cpu_by_process(context.server.pid)
    result = json.loads(result_file.read_text())
    result["server_cpu_seconds"] = cpu_spent(before, after)
    return result


def flush_redis() -> None:
    redis = get_redis()
    if redis is not None:
        redis.flushdb()


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


class Baseline:
    """A trivial authenticated DRF endpoint (GET /api/v1/me): this server's ceiling."""

    customers = 1_000

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


class DrawStorm:
    """5,000 customers draw once; one hot coupon type, quota 500, sure to hit."""

    customers = 5_000
    quota = 500

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
        from campaigns.models import CouponType
        from draws.models import Draw
        from vouchers.models import Voucher

        flush_redis()
        campaign = _campaign("draw")
        coupon_type = _coupon_type(campaign, probability=1, total_quota=self.quota)
        phase = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/draws",
                "limit": self.customers,
            },
        )
        wins = Draw.objects.filter(campaign=campaign, won=True).count()
        issued = CouponType.objects.get(pk=coupon_type.pk).issued_total
        return {
            "phases": {"draws": phase},
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


class RedeemStorm:
    """5,000 customers each redeem their own voucher once (seed 001's validate)."""

    customers = 5_000

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


class ClaimStorm:
    """10,000 customers claim once from a pool of 2,000 coupons."""

    customers = 10_000
    coupons = 2_000

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


class GenerateVouchers:
    """Seed 001's generate for 10,000 emails in one request (staff)."""

    customers = 1
    emails = 10_000

    def run(self, context: Context) -> dict:
        # The project's models: Django is set up in bench.main, after the database.
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
        return {
            "phases": {"generate-10000": phase},
            "correctness": {
                "vouchers": made.count(),
                "distinct_codes": made.values("code").distinct().count(),
                "expected": self.emails,
                "generate_10000_seconds": phase["seconds"],
                "5xx": _server_errors(phase),
            },
        }


class ReleaseBatches:
    """Releasing coupons: 10,000 through the API (one request), 1,000,000 by the command."""

    customers = 1

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
                "expected": 1_010_000,
                "release_10000_api_seconds": api["seconds"],
                "release_1000000_command_seconds": million_seconds,
                "5xx": _server_errors(api),
            },
        }


class Rush:
    """Seed 003 at scale: every customer reserves, then every customer grabs once.

    The reservation window opens now; when every reservation is in, the windows
    are moved (as an employee would) so the rush opens seconds later, the day is
    loaded into Redis (``rush_warm``, as ``manage.py warm_rush`` does), and the
    grabs run inside the one-minute rush window.
    """

    def __init__(self, customers: int):
        self.customers = customers

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
        grab = run_phase(
            context,
            {
                "method": "POST",
                "path": f"/api/v1/campaigns/{campaign.slug}/grabs",
                "limit": self.customers,
                "max_seconds": 59,
            },
        )
        day = RushDay.objects.get(campaign=campaign)
        winners = Grab.objects.filter(campaign=campaign).count()
        issued = Voucher.objects.filter(
            coupon_type=coupon_type, status=Voucher.Status.ISSUED, owner__isnull=False
        ).count()
        unanswered = sum(grab["unanswered"].values()) + sum(
            reserve["unanswered"].values()
        )
        return {
            "phases": {"reserve": reserve, "grab": grab},
            "correctness": {
                "reservations": Reservation.objects.filter(campaign=campaign).count(),
                "coupons": day.coupons,
                "expected_coupons": self.customers // 5,
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
}


# --- report -------------------------------------------------------------------------

# Counts that must be zero in every scenario that reports them.
MUST_BE_ZERO = (
    "oversold",
    "undersold",
    "false_losses",
    "left_over",
    "coupons_with_two_claims",
    "not_redeemed",
    "unanswered",
    "5xx",
)


def failures(report: dict) -> list[str]:
    """What is wrong with the correctness counts (empty when all is well)."""
    found = []
    for name, result in report["scenarios"].items():
        counts = result["correctness"]
        found += [
            f"{name}: {key} = {counts[key]}" for key in MUST_BE_ZERO if counts.get(key)
        ]
        if "expected" in counts and counts.get("coupons_in_pool") != counts["expected"]:
            found.append(
                f"{name}: {counts.get('coupons_in_pool')} coupons, expected {counts['expected']}"
            )
        if (
            "expected_coupons" in counts
            and counts["coupons"] != counts["expected_coupons"]
        ):
            found.append(
                f"{name}: {counts['coupons']} coupons, expected {counts['expected_coupons']}"
            )
        for phase_name, phase in result["phases"].items():
            if phase["answered"] != phase["requests"]:
                found.append(
                    f"{name}/{phase_name}: {phase['requests'] - phase['answered']} unanswered"
                )
    return found


def markdown(report: dict) -> str:
    rows = [
        "| scenario / phase | requests | req/s | x baseline | p50 ms | p95 ms | p99 ms | statuses | loadgen CPU | server CPU (gunicorn / postgres / redis s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in report["scenarios"].items():
        for phase_name, phase in result["phases"].items():
            cpu = phase["server_cpu_seconds"]
            rows.append(
                f"| {name} / {phase_name} | {phase['answered']:,} | {phase['throughput'] or 0:,} | "
                f"{phase.get('ratio_to_baseline', '')} | {phase['p50_ms']} | {phase['p95_ms']} | "
                f"{phase['p99_ms']} | {', '.join(f'{k}: {v:,}' for k, v in phase['statuses'].items())} | "
                f"{phase['loadgen_cpu_share']:.0%} of a core | "
                f"{cpu['gunicorn']} / {cpu['postgres']} / {cpu['redis']} |"
            )
    checks = ["", "| scenario | correctness |", "|---|---|"]
    for name, result in report["scenarios"].items():
        if result["correctness"]:
            checks.append(
                f"| {name} | {', '.join(f'{k}: {v:,}' if isinstance(v, int) else f'{k}: {v}' for k, v in result['correctness'].items())} |"
            )
    return "\n".join(rows + checks)


def write_docs(report: dict, table: str) -> None:
    docs = ROOT / "docs" / "performance.md"
    text = docs.read_text() if docs.exists() else "# Performance\n"
    marker_start, marker_end = "<!-- bench:start -->", "<!-- bench:end -->"
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
