"""The contract run's server: its own Postgres database, migrated and seeded,
gunicorn on a spare port with Redis and a task worker beside it (which sends
the SMS, written to files, and the mail, printed to the log), rate limits raised
(except the one the flow runs into on purpose). The machinery is
``couponsite.testing.live_server``."""

import os

from couponsite.testing.live_server import DEFAULT_ADMIN_URL, LiveServer, rate_limits

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"

# The flow comes from one address and signs in a handful of customers quickly:
# per-address limits off, per-customer ones generous. The per-phone OTP limit is
# kept low so that one phone meets RATE_LIMITED (see contract/flow/signin.py).
RATE_LIMITS = {
    **rate_limits("off", ending="_IP"),
    "RATE_LIMIT_EMAIL_CUSTOMER": "1000/hour",
    "RATE_LIMIT_OTP_PHONE": "3/hour",
    **{
        f"RATE_LIMIT_{scope}_CUSTOMER": "1000/minute"
        for scope in ("DRAW", "CLAIM", "RESERVE", "GRAB", "REDEEM", "LOOKUP")
    },
    "RATE_LIMIT_REDEEM_FAIL_CUSTOMER": "1000/hour",
}


def contract_server() -> LiveServer:
    """The server as ``DATABASE_URL``, ``CONTRACT_DATABASE_NAME``, ``REDIS_URL``
    (flushed) and ``CONTRACT_PORT`` say; enter it to start it."""
    admin_url = os.environ.get("DATABASE_URL", DEFAULT_ADMIN_URL)
    if not admin_url.startswith("postgres"):
        raise SystemExit("contract: DATABASE_URL must point at Postgres")
    return LiveServer(
        os.environ.get("CONTRACT_DATABASE_NAME", "couponsite_contract"),
        admin_url=admin_url,
        redis_url=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        flush_redis=True,
        seed=True,
        port=int(os.environ.get("CONTRACT_PORT") or 0) or None,
        label="contract",
        # Sign-in and email codes are sent by the worker, not by the request.
        task_worker=True,
        env={
            "SECRET_KEY": "contract",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Errors only: 4xx answers are the flow's business, a 500 is reported.
            "LOG_LEVEL": "ERROR",
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
            "SMS_BACKEND": "file",
            # Mail (email verification codes) is printed to the server's log (the
            # worker's output goes there too).
            "EMAIL_BACKEND": "console",
            **RATE_LIMITS,
        },
    )
