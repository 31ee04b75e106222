"""Fuzz the live API against its own OpenAPI schema with schemathesis (a CI step).

Creates a database of its own, migrates and seeds it (a campaign of each kind),
starts gunicorn on Postgres + Redis on a spare port with rate limits raised (so
the run is not 429 noise), then runs schemathesis twice, as a customer and as
staff (a user in every back-office role of ``couponsite.roles``, so that
operations needing a permission are fuzzed past it), with a fixed seed, bounded
examples and a time limit. It fails on any 5xx, any answer the schema does not declare (status, body, headers, content
type), any request the schema forbids that the server accepts, and auth the
server ignores. Cleans up (server, database) whatever happens
(``couponsite.testing.live_server``).

Run it as ``scripts/fuzz``. Environment: ``DATABASE_URL`` (a server to create
the database on), ``FUZZ_DATABASE_NAME`` (default ``couponsite_fuzz_<port>``),
``REDIS_URL`` (its database is flushed, as the tests do), ``FUZZ_PORT``
(default 18124), ``FUZZ_SECONDS`` (per run, default 75), ``FUZZ_EXAMPLES``
(per operation, default 30), ``FUZZ_SEED``.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script (scripts/fuzz): find couponsite

from couponsite.roles import ROLES  # noqa: E402
from couponsite.testing.live_server import (  # noqa: E402
    DEFAULT_ADMIN_URL,
    LiveServer,
    rate_limits,
)

PYTHON = sys.executable
SCHEMATHESIS = Path(PYTHON).parent / "schemathesis"
CONFIG = ROOT / "scripts" / "fuzz.toml"

PORT = int(os.environ.get("FUZZ_PORT", "18124"))
SECONDS = int(os.environ.get("FUZZ_SECONDS", "75"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
DB_NAME = os.environ.get("FUZZ_DATABASE_NAME", f"couponsite_fuzz_{PORT}")
BASE_DATABASE_URL = os.environ.get("DATABASE_URL", DEFAULT_ADMIN_URL)
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")

# Checks: all of schemathesis' but positive_data_acceptance, which expects every
# schema-valid request to succeed; ours are refused (400) by rules a schema cannot
# state: an expiry in the past, probabilities adding up past 1, a coupon type id of
# another campaign, a phone number that does not exist, a slug already taken.
EXCLUDED_CHECKS = ["positive_data_acceptance"]


def _server() -> LiveServer:
    return LiveServer(
        DB_NAME,
        admin_url=BASE_DATABASE_URL,
        redis_url=REDIS_URL,
        flush_redis=True,
        seed=True,
        port=PORT,
        label="fuzz",
        env={
            "LOG_LEVEL": "ERROR",  # 4xx warnings are the point here; 5xx still log
            "SMS_BACKEND": "console",
            # Else most sign-in and email-change requests are 429s (resend too soon).
            "OTP_RESEND_SECONDS": "0",
            "EMAIL_CODE_RESEND_SECONDS": "0",
            # gunicorn answers an over-long URL itself (414, HTML) before the API
            # sees it; lifted so over-long query values reach the API's own checks.
            "GUNICORN_LIMIT_REQUEST_LINE": "0",
            # Every limit, far above what one run sends; the hourly sign-in
            # texts per phone prefix too (both passes text +1415555… numbers).
            **rate_limits("100000/minute"),
            "SMS_PREFIX_LIMIT": "1000000",
        },
    )


def _schemathesis(base_url: str, token: str, who: str) -> int:
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{base_url}/api/schema/",
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--header",
        f"Authorization: Bearer {token}",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--max-time",
        str(SECONDS),
        "--workers",
        "2",
        "--request-timeout",
        "10",
    ]
    print(
        f"fuzz: schemathesis as {who}, up to {SECONDS} s", file=sys.stderr, flush=True
    )
    return subprocess.run(command, cwd=ROOT).returncode


def main() -> int:
    with _server() as server:
        customer = server.manage(
            "issue_token", "--phone", "+14155550199", "--name", "fuzz"
        )
        # In every back-office role: the staff-only operations that need a
        # permission (block and unblock need customers.block_customer) are
        # fuzzed past it, not only refused with 403.
        staff = server.staff_token("fuzz-staff", *ROLES)
        failed = [
            who
            for who, token in (("customer", customer), ("staff", staff))
            if _schemathesis(server.base_url, token, who) != 0
        ]
        errors = server.errors_logged()
    if errors:
        print(
            "fuzz: the server logged errors:", *errors[:20], sep="\n", file=sys.stderr
        )
    if failed or errors:
        print(f"fuzz: FAILED ({', '.join(failed) or 'server errors'})", file=sys.stderr)
        return 1
    print("fuzz: schemathesis found no disagreement", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
