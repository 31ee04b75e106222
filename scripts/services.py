"""Say whether Postgres and Redis answer at the given URLs (used by scripts/test).

python scripts/services.py postgres URL   -> exit 0 if it answers
python scripts/services.py redis URL      -> exit 0 if it answers
"""

import sys

import psycopg
from redis import Redis
from redis.exceptions import RedisError


def postgres(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def redis(url: str) -> bool:
    try:
        return bool(
            Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
        )
    except (RedisError, OSError):
        return False


if __name__ == "__main__":
    kind, url = sys.argv[1], sys.argv[2]
    sys.exit(0 if {"postgres": postgres, "redis": redis}[kind](url) else 1)
