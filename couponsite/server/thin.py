"""The thin path: the flash sale's hot answers on the event loop, before Django.

In a flash sale most answers are refusals that need no database: "not now",
"you did not reserve", "you already have one", "sold out", "you drew today";
and its writes are small rows that a route hands to a group committer
(``couponsite.group_commit``) instead of a Django thread.
Django would spend a millisecond and more of CPU on each (middleware, the
token's owner, DRF's parser, throttle and renderer stacks). A thin route
(``couponsite.server.Route``) decides them with one Redis round trip instead:
one Lua script (``gate``) that

1. reads the bearer token's thin entry (``token_entry_key``), written by
   ``customers.authentication`` for customers' live tokens and marked stale
   by every revocation, so a revoked token is never taken here;
2. checks the request's rate limits exactly as ``couponsite.api.throttling``
   does (the same keys, windows and clock);
3. runs the route's own Lua ``body`` for that customer (the rush's rules).

Whenever the script cannot answer for sure it returns ``PASS`` and counts
nothing: the request goes to Django unchanged, which answers it and counts
its rate limits itself. Only answers the script settled count a hit, so no
request is counted twice; a route that passes a request after its gate counted
it (a failed group commit) marks it ``RATE_COUNTED`` for Django's throttle. What takes the thin path, and why each rule still
holds there, is in ``docs/architecture.md`` ("The thin path").

A request also goes to Django when anything about it is unusual: no bearer
token, an ``Idempotency-Key``, an ``Accept`` other than JSON, a host not in
``ALLOWED_HOSTS``, HTTPS (SecurityMiddleware's redirects and HSTS), Redis
unconfigured or down, or ``THIN_PATH`` off.

Answers speak the language Django would answer in: the customer's saved
language, which their token entry holds (``token_entry``; the script hands it
back with its reply, ``GateReply.language``), else the one ``LocaleMiddleware``
picks from ``Accept-Language`` (``ThinRequest.language``, through
``couponsite.languages.request_language``, cached per header). Each answer
carries ``Content-Language`` and ``Vary: Accept-Language`` as LocaleMiddleware
sets them, and a refusal's body is rendered once per text and language
(``refusal_body``), so English costs what it did when it was the only one.

On a Redis Cluster (``REDIS_CLUSTER``) one script cannot reach keys of
several slots: the loop's client is ``couponsite.server.loop_cluster``'s (a
connection per master) and the gate runs in steps (``Gate.run_on_cluster``);
a gate whose body cannot run alone on one slot steps aside there.
"""

import asyncio
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import secrets
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace

from django.conf import settings
from django.core.signals import setting_changed
from django.db import close_old_connections, connections
from django.dispatch import receiver
from django.http.request import split_domain_port, validate_host
from django.utils import translation
from django.utils.functional import Promise

from couponsite import metrics
from couponsite.api import throttling
from couponsite.api.client_ip import client_ip
from couponsite.api.exceptions import STATUS_BY_CODE, RateLimited, retry_after_value
from couponsite.errors import DomainError
from couponsite.languages import request_language
from couponsite.namespace import key_namespace_known
from couponsite.redis_client import REDIS_ERRORS, redis_key
from couponsite.redis_cluster import key_slot
from couponsite.server.loop_cluster import ClusterLoopRedis
from couponsite.server.loop_redis import LoopRedis, RedisReplyError
from couponsite.server.router import Scope, Send

logger = logging.getLogger(__name__)

# The language of an answer nothing else decides (a request with no
# Accept-Language is answered in LANGUAGE_CODE: ThinRequest.language).
ENGLISH = "en"

# The token entry: "<customer id>:<expires at, ms since the epoch>", and
# ":<language>" for a customer with a saved language; or this mark.
STALE = b"stale"

# Answers whose Accept asks for something JSONRenderer gives byte for byte.
_PLAIN_ACCEPTS = frozenset({b"", b"*/*", b"application/json", b"application/*"})


def token_entry_key(digest: str) -> str:
    """Where a token's thin entry lives (``customers.authentication`` writes it)."""
    return redis_key("thin-token", digest)


def token_entry(customer_id: int, expires_at_ms: int, language: str = "") -> str:
    """A live token's thin entry; ``language``: the customer's saved one ("" to
    follow the request's ``Accept-Language``, and the two-part entry of old)."""
    entry = f"{customer_id}:{expires_at_ms}"
    return f"{entry}:{language}" if language else entry


# --- The request -----------------------------------------------------------------


@dataclass(frozen=True)
class ThinRequest:
    """What a thin route needs of a request, or None from ``of`` if it is unusual."""

    scope: Scope
    digest: str
    address: str
    # LocaleMiddleware's choice (``Accept-Language``); a saved language overrides it.
    language: str = ENGLISH

    @classmethod
    def of(cls, scope: Scope) -> "ThinRequest | None":
        authorization = accept = host = forwarded = languages = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is not None:
                    return None
                authorization = value
            elif name == b"accept":
                accept = value if accept is None else accept + b"," + value
            elif name == b"host":
                host = value
            elif name == b"accept-language":
                languages = value if languages is None else languages + b"," + value
            elif name == b"x-forwarded-for":
                forwarded = value if forwarded is None else forwarded + b"," + value
            elif name == b"idempotency-key" or name == b"cookie":
                # Idempotent replays keep their records; sessions their CSRF checks.
                return None
        if authorization is None or (
            accept is not None and (accept.strip() not in _PLAIN_ACCEPTS)
        ):
            return None
        parts = authorization.split()
        if len(parts) != 2 or parts[0].lower() != b"bearer":
            return None
        if not _host_allowed(host) or _redirects(scope):
            return None
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            return None
        client = scope.get("client")
        meta = {"REMOTE_ADDR": client[0] if client else ""}
        if forwarded is not None:
            meta["HTTP_X_FORWARDED_FOR"] = forwarded.decode("latin-1")
        return cls(
            scope=scope,
            # ApiToken.digest_of, without importing the model here.
            digest=hashlib.sha256(raw.encode()).hexdigest(),
            address=client_ip(SimpleNamespace(META=meta)),
            language=request_language((languages or b"").decode("latin-1")),
        )


@functools.lru_cache(maxsize=64)
def _host_allowed(host: bytes | None) -> bool:
    """Django's ``get_host`` check (settings read once; ``_settings_changed``)."""
    if host is None:
        return False
    domain, _ = split_domain_port(host.decode("latin-1"))
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = [".localhost", "127.0.0.1", "[::1]"]
    return bool(domain) and validate_host(domain, allowed)


def _redirects(scope: Scope) -> bool:
    """SecurityMiddleware would redirect (or add HSTS): leave those to Django."""
    return scope.get("scheme", "http") == "https" or bool(settings.SECURE_SSL_REDIRECT)


# --- The answer ------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _base_headers(language: str) -> tuple[tuple[bytes, bytes], ...]:
    """What Django's middleware and DRF's APIView add to every JSON answer here
    in ``language`` (computed once per language; ``_settings_changed`` forgets them)."""
    headers = [
        (b"content-type", b"application/json"),
        (b"allow", b"POST, OPTIONS"),
        (b"x-frame-options", settings.X_FRAME_OPTIONS.encode()),
        # LocaleMiddleware's: the answer's language (the active one, which a
        # saved language replaced at authentication), and that it depends on the ask.
        (b"vary", b"Accept-Language"),
        (b"content-language", language.encode()),
    ]
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        policy = settings.SECURE_REFERRER_POLICY
        if not isinstance(policy, str):
            policy = ",".join(policy)
        headers.append((b"referrer-policy", policy.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(
            (
                b"cross-origin-opener-policy",
                settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode(),
            )
        )
    return tuple(headers)


async def answer(
    send: Send,
    status: int,
    body: bytes,
    *,
    language: str,
    retry_after: float | None = None,
) -> None:
    """Send a JSON answer as Django would, answering in ``language``."""
    headers = list(_base_headers(language))
    if retry_after is not None:
        headers.append((b"retry-after", retry_after_value(retry_after).encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def created(send: Send, body: bytes, *, language: str) -> None:
    """A ``201`` whose JSON ``body`` was serialized as DRF's renderer would."""
    await answer(send, 201, body, language=language)


@functools.lru_cache(maxsize=256)
def error_body(code: str, detail: str) -> bytes:
    # DRF's JSONRenderer: compact separators, non-ASCII kept as UTF-8.
    return json.dumps(
        {"code": code, "detail": detail}, ensure_ascii=False, separators=(",", ":")
    ).encode()


# Refusals' bodies by (code, detail, language): (the detail, the body). A lazy
# detail (a translatable text) is keyed by its identity (hashing one translates
# it) and kept here, so the identity is never another's: the class's own
# ``detail``, or a module's constant, is rendered once per language.
_refusal_bodies: dict[tuple[str, object, str], tuple[object, bytes]] = {}
_REFUSAL_BODIES_MAX = 512


def refusal_body(error: DomainError, language: str) -> bytes:
    """``error``'s JSON body in ``language``, as ``exception_handler`` renders it."""
    detail = error.detail
    lazy = isinstance(detail, Promise)
    key = (error.code, id(detail) if lazy else detail, language)
    found = _refusal_bodies.get(key)
    if found is not None and (found[0] is detail or not lazy):
        return found[1]
    with translation.override(language):
        body = error_body(error.code, str(error.detail))
    if len(_refusal_bodies) >= _REFUSAL_BODIES_MAX:
        _refusal_bodies.clear()  # (details made per request would fill it)
    _refusal_bodies[key] = (detail, body)
    return body


async def refuse(send: Send, error: DomainError, *, language: str) -> None:
    """The answer ``couponsite.api.exceptions.exception_handler`` gives ``error``
    in ``language``: ``Retry-After`` whenever it was raised with ``retry_after``,
    and on every 429."""
    status = STATUS_BY_CODE[error.code]
    metrics.refused(error.code)
    retry_after = error.retry_after
    if retry_after is None and status == 429:
        retry_after = 1
    await answer(
        send,
        status,
        refusal_body(error, language),
        language=language,
        retry_after=retry_after,
    )


async def rate_limited(send: Send, wait_ms: int, *, language: str) -> None:
    await refuse(
        send, RateLimited(retry_after=max(1, -(-wait_ms // 1000))), language=language
    )


# --- The gate script -------------------------------------------------------------

_PRELUDE = """
-- The thin path's gate (couponsite/server/thin.py): token, rate limits (with
-- rate_limit_windows.lua's functions, prepended), then body().
-- KEYS[1] the token's thin entry; KEYS[2..] the body's keys.
-- ARGV[1] now (ms, the app's clock: token expiry), ARGV[2] the rate limits' clock
-- ('' = the Redis server's), ARGV[3] a unique member, ARGV[4] how many limits,
-- then per limit: key prefix (the customer's id is appended when it ends in ':'),
-- count, period (ms); the body's arguments follow.
-- The entry: "<customer>:<expires ms>" or "<customer>:<expires ms>:<language>".
local entry = redis.call('GET', KEYS[1])
if not entry then
  return {'PASS', 'token'}
end
local sep = string.find(entry, ':', 1, true)
if not sep then
  return {'PASS', 'token'}
end
local customer = string.sub(entry, 1, sep - 1)
local expires = string.sub(entry, sep + 1)
local language = ''
local lsep = string.find(expires, ':', 1, true)
if lsep then
  language = string.sub(expires, lsep + 1)
  expires = string.sub(expires, 1, lsep - 1)
end
expires = tonumber(expires)
if not expires then
  return {'PASS', 'token'}
end
if expires <= tonumber(ARGV[1]) then
  return {'PASS', 'expired'}
end

local now = rate_clock(ARGV[2])
local limits = tonumber(ARGV[4])
local keys, counts, periods = {}, {}, {}
for i = 1, limits do
  local key = ARGV[2 + 3 * i]
  if string.sub(key, -1) == ':' then
    key = key .. customer
  end
  keys[i], counts[i], periods[i] = key, tonumber(ARGV[3 + 3 * i]), tonumber(ARGV[4 + 3 * i])
end
local wait = rate_wait(keys, counts, periods, now)
if wait > 0 then
  return {'LIMITED', customer, wait, language}
end

local body_keys = {}
for i = 2, #KEYS do
  body_keys[i - 1] = KEYS[i]
end
local body_args = {}
for i = 5 + 3 * limits, #ARGV do
  body_args[#body_args + 1] = ARGV[i]
end
"""

_EPILOGUE = """
local reply = body(customer, body_keys, body_args)
if reply[1] == 'PASS' then
  return reply
end
rate_count(keys, counts, periods, now, now .. ':' .. ARGV[3])
table.insert(reply, 2, customer)
reply[#reply + 1] = language
return reply
"""

# A body for answers decided before Redis (the window is closed): the gate alone.
DECIDED = """
local function body(customer, keys, args)
  return {'DECIDED'}
end
"""


# On a Redis Cluster the body runs alone (``Gate.run_on_cluster``).
# KEYS the body's keys (one slot); ARGV[1] the customer id, then the body's args.
_ALONE = """
local body_args = {}
for i = 2, #ARGV do
  body_args[i - 1] = ARGV[i]
end
return body(ARGV[1], KEYS, body_args)
"""

_RATE_SHA = hashlib.sha1(throttling.SCRIPT_SOURCE).hexdigest().encode()


class GateReply(list):
    """A gate's reply (the parts ``Gate`` names) and ``language``, the one to
    answer in: the customer's saved language (the token entry's), else the
    request's (``ThinRequest.language``), as Django would answer."""

    language: str = ENGLISH

    @classmethod
    def of(cls, parts: list, saved: str, request: "ThinRequest") -> "GateReply":
        reply = cls(parts)
        reply.language = saved or request.language
        return reply


@dataclass(frozen=True)
class Gate:
    """One route's gate script: the prelude, its ``body`` (Lua defining
    ``local function body(customer, keys, args)`` that returns ``{'PASS', why}``
    or an answer), the epilogue. The reply (a ``GateReply``): ``('PASS', why)``,
    ``('LIMITED', customer id, wait ms)``, or the body's answer with the
    customer id inserted second; its ``language`` is the answer's. (The script
    itself appends the entry's saved language, or '', to the last two; ``run``
    takes it off.)

    ``on_cluster``: the body uses nothing of the prelude's but ``customer``,
    ``keys`` and ``args``, and touches only the keys it is given, all in one
    slot, or, with ``cluster_keys``, only the keys that function names from
    (customer id, keys, args) (a key the body makes from the customer's id);
    so on a Redis Cluster it can run as a script of its own on that slot
    (``run_on_cluster``). Any other gate steps aside there (Django answers)."""

    source: bytes
    sha: bytes
    on_cluster: bool = False
    alone: bytes = b""
    alone_sha: bytes = b""
    cluster_keys: Callable[[str, Sequence[str], Sequence[object]], list[str]] | None = (
        None
    )

    @classmethod
    def of(
        cls,
        body: str,
        *,
        on_cluster: bool = False,
        cluster_keys: Callable[[str, Sequence[str], Sequence[object]], list[str]]
        | None = None,
    ) -> "Gate":
        source = (throttling.WINDOWS_LUA + _PRELUDE + body + _EPILOGUE).encode()
        alone = (body + _ALONE).encode()
        return cls(
            source,
            hashlib.sha1(source).hexdigest().encode(),
            on_cluster,
            alone,
            hashlib.sha1(alone).hexdigest().encode(),
            cluster_keys,
        )

    async def run(
        self,
        redis: LoopRedis,
        *,
        request: ThinRequest,
        scope_name: str,
        keys: Sequence[str] = (),
        args: Sequence[object] = (),
    ) -> GateReply:
        if isinstance(redis, ClusterLoopRedis):
            return await self.run_on_cluster(
                redis, request=request, scope_name=scope_name, keys=keys, args=args
            )
        # principal_ref(customer) is "customer:<id>": the script adds the id.
        limits = [
            part
            for key, rate in _limits(request, scope_name, customer="")
            for part in (key, rate.count, rate.period * 1000)
        ]
        clock = throttling.clock
        reply = await redis.evalsha(
            self.sha,
            self.source,
            keys=[token_entry_key(request.digest), *keys],
            args=[
                int(time.time() * 1000),
                "" if clock is None else int(clock() * 1000),
                _member(),
                len(limits) // 3,
                *limits,
                *args,
            ],
        )
        reply = [part.decode() if isinstance(part, bytes) else part for part in reply]
        if reply[0] == "PASS":
            return GateReply(reply)
        saved = reply.pop()
        return GateReply.of(reply, saved, request)

    async def run_on_cluster(
        self,
        redis: ClusterLoopRedis,
        *,
        request: ThinRequest,
        scope_name: str,
        keys: Sequence[str] = (),
        args: Sequence[object] = (),
    ) -> GateReply:
        """The gate in steps, each a command or script on one slot, with the
        single script's rules and replies:

        1. the token entry, on its slot (none, stale or expired: ``PASS``);
        2. the rate limits, slot by slot, as ``couponsite.api.throttling``
           counts them on a cluster: ``rate_limit.lua`` in mode "hit" (counts
           only if none of that slot's limits is spent); a slot that refuses
           makes the slots that counted take the hit back ("undo") and the
           answer is ``LIMITED`` with the longest wait;
        3. the body, a script alone on its keys' slot;
        4. a body's ``PASS`` takes the counted hits back ("undo"): only
           settled answers count, as on one node.

        What differs from one script: between a count and its undo another
        request may see one hit too many (refused a moment early, never let
        through over a limit), as with Django's throttle on a cluster; and when
        Redis fails after a count, the hit is taken back if Redis lets it, else
        it stays counted while Django counts it again (stricter still). A body whose
        keys span slots is not run: ``PASS``, nothing counted.
        """
        now_ms = int(time.time() * 1000)
        found = _customer(await redis.get(token_entry_key(request.digest)), now_ms)
        if found is None:
            return GateReply(["PASS", "token"])
        customer, saved = found
        if self.cluster_keys is not None:
            keys = self.cluster_keys(customer, keys, args)
        if len({key_slot(key) for key in keys}) > 1:
            return GateReply(["PASS", "slots"])
        groups = throttling.by_slot(_limits(request, scope_name, customer))
        clock = throttling.clock
        now_arg = "" if clock is None else int(clock() * 1000)
        member = _member()

        async def rate(group: list, mode: str) -> int:
            return int(
                await redis.evalsha(
                    _RATE_SHA,
                    throttling.SCRIPT_SOURCE,
                    keys=[key for key, _ in group],
                    args=[
                        mode,
                        now_arg,
                        member,
                        *itertools.chain.from_iterable(
                            (rate.count, rate.period * 1000) for _, rate in group
                        ),
                    ],
                )
            )

        async def undo(counted: list) -> None:
            for group in counted:
                await rate(group, "undo")

        counted: list = []
        try:
            for done, group in enumerate(groups):
                wait = await rate(group, "hit")
                if wait:
                    await undo(counted)
                    for rest in groups[done + 1 :]:
                        wait = max(wait, await rate(rest, "peek"))
                    return GateReply.of(["LIMITED", customer, wait], saved, request)
                counted.append(group)
            reply = await redis.evalsha(
                self.alone_sha, self.alone, keys=keys, args=[customer, *args]
            )
        except THIN_REDIS_ERRORS:
            # Django answers and counts; if this undo fails too, the hit counts
            # twice: stricter, never looser. (An undo is idempotent.)
            with contextlib.suppress(*THIN_REDIS_ERRORS):
                await undo(counted)
            raise
        reply = [part.decode() if isinstance(part, bytes) else part for part in reply]
        if reply[0] == "PASS":
            await undo(counted)
            return GateReply(reply)
        reply.insert(1, customer)
        return GateReply.of(reply, saved, request)

    async def decide(
        self,
        send: Send,
        redis: LoopRedis,
        *,
        request: ThinRequest,
        scope_name: str,
        keys: Sequence[str] = (),
        args: Sequence[object] = (),
    ) -> GateReply | bool:
        """Run the gate and do what every route does with its reply first: False
        (Django answers) when Redis failed or the script passed; True once a spent
        rate limit was answered (``RATE_LIMITED``); else the reply, the route's to
        answer in ``reply.language``. On a Redis Cluster a gate not
        ``on_cluster`` lets Django answer."""
        if not self.on_cluster and isinstance(redis, ClusterLoopRedis):
            return False
        try:
            reply = await self.run(
                redis, request=request, scope_name=scope_name, keys=keys, args=args
            )
        except THIN_REDIS_ERRORS:
            redis_failed()
            return False
        if reply[0] == "PASS":
            return False
        if reply[0] == "LIMITED":
            metrics.rate_limited(scope_name)
            await rate_limited(send, int(reply[2]), language=reply.language)
            return True
        return reply

    async def refuse_or_pass(
        self,
        send: Send,
        redis: LoopRedis,
        *,
        request: ThinRequest,
        scope_name: str,
        refusals: Mapping[str, DomainError],
        keys: Sequence[str] = (),
        args: Sequence[object] = (),
    ) -> bool:
        """``decide``, then answer the refusal ``refusals`` names for the body's
        answer: True once answered, False (nothing sent) to let Django answer."""
        reply = await self.decide(
            send, redis, request=request, scope_name=scope_name, keys=keys, args=args
        )
        if isinstance(reply, bool):
            return reply
        await refuse(send, refusals[reply[0]], language=reply.language)
        return True


# Each hit's member in a rate-limit set: unique across processes and requests.
_member_prefix = secrets.token_hex(4) + ":"
_member_count = itertools.count()


def _member() -> str:
    return f"{_member_prefix}{next(_member_count)}"


def _customer(entry: bytes | None, now_ms: int) -> tuple[str, str] | None:
    """The customer id and saved language ('' for none) of a live token entry
    (the prelude's rules), or None."""
    if entry is None:
        return None
    customer, sep, expires = entry.partition(b":")
    expires, _, language = expires.partition(b":")
    if not sep or not customer.isdigit() or not expires.isdigit():
        return None
    if int(expires) <= now_ms:
        return None
    return customer.decode(), language.decode()


def _limits(
    request: ThinRequest, scope_name: str, customer: str
) -> list[tuple[str, throttling.Rate]]:
    """The request's limits as ``CustomerAndAddressThrottle`` names them."""
    ip_rate, customer_rate = _rates(scope_name)
    limits = []
    if ip_rate is not None:
        limits.append((redis_key("rl", f"{scope_name}_ip", request.address), ip_rate))
    if customer_rate is not None:
        limits.append(
            (
                redis_key("rl", f"{scope_name}_customer", f"customer:{customer}"),
                customer_rate,
            )
        )
    return limits


@functools.cache
def _rates(scope_name: str) -> tuple[throttling.Rate | None, throttling.Rate | None]:
    """The scope's per-address and per-customer limits (read once per settings)."""
    return (
        throttling.rate_for(f"{scope_name}_ip"),
        throttling.rate_for(f"{scope_name}_customer"),
    )


@receiver(setting_changed)
def _settings_changed(**kwargs) -> None:
    _base_headers.cache_clear()
    _refusal_bodies.clear()
    _rates.cache_clear()
    _host_allowed.cache_clear()


# --- Reloading what the loop may not query -------------------------------------

# One thread per process reloads what the thin path reads from process memory
# (a campaign row) once it has timed out; the loop never waits for it.
_refresher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="thin-refresh")
_refreshing: set[str] = set()


def refresh_soon(key: str, load: Callable[[], object]) -> None:
    """Run ``load`` (it may query) in the refresh thread, once per key at a time."""
    if key in _refreshing:
        return
    _refreshing.add(key)

    def run() -> None:
        try:
            close_old_connections()  # as a request would: age and health checks
            load()
        except Exception:
            logger.warning("thin path: could not reload %s", key, exc_info=True)
        finally:
            _refreshing.discard(key)

    _refresher.submit(run)


async def load_now(load: Callable[[], object]) -> None:
    """Run ``load`` (it may query) in the refresh thread and wait for it: for
    what the thin path must know before its first request (server start-up).
    Nothing when the thin path is off; the thread's connection is closed after,
    so a server still holds at most workers x threads connections until the
    thin path refreshes something."""
    if not settings.THIN_PATH or not settings.REDIS_URL:
        return

    def run() -> None:
        try:
            load()
        finally:
            connections.close_all()

    await asyncio.wrap_future(_refresher.submit(run))


# --- Redis for the loop ----------------------------------------------------------

# One connection per event loop (a worker has one; tests make several).
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LoopRedis | ClusterLoopRedis]" = weakref.WeakKeyDictionary()
_redis_skipped_until = 0.0
# After a Redis error, the thin path steps aside (everything goes to Django) this long.
REDIS_BACKOFF_SECONDS = 5.0


def loop_redis() -> LoopRedis | ClusterLoopRedis | None:
    """The running loop's Redis client for the thin path (on a Redis Cluster,
    ``ClusterLoopRedis``); None: step aside (the thin path is off, Redis is
    not configured, or failed a moment ago)."""
    if not settings.THIN_PATH or not settings.REDIS_URL or not key_namespace_known():
        return None  # (the namespace: every key needs it, and reading it is a query)
    if _redis_skipped_until > time.monotonic():
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        kind = ClusterLoopRedis if settings.REDIS_CLUSTER else LoopRedis
        client = _clients[loop] = kind(
            settings.REDIS_URL, timeout=settings.THIN_PATH_REDIS_TIMEOUT
        )
    return client


def loop_close() -> None:
    """Close the running loop's connection, if it has one (the server's shutdown)."""
    client = _clients.pop(asyncio.get_running_loop(), None)
    if client is not None:
        client.close()


def redis_failed() -> None:
    global _redis_skipped_until
    _redis_skipped_until = time.monotonic() + REDIS_BACKOFF_SECONDS
    metrics.redis_fallback("thin")
    logger.warning(
        "thin path: Redis unavailable, Django answers everything for %ss",
        REDIS_BACKOFF_SECONDS,
        exc_info=True,
    )


def reset() -> None:
    """Forget this process's clients and back-off, and let the refresh thread
    finish and close its database connection (tests)."""
    global _redis_skipped_until
    for client in list(_clients.values()):
        client.close()
    _clients.clear()
    _redis_skipped_until = 0.0
    _refresher.submit(connections.close_all).result()


# What makes the thin path step aside: Redis unreachable, slow, or refusing a script.
THIN_REDIS_ERRORS = (*REDIS_ERRORS, RedisReplyError)

__all__ = [
    "DECIDED",
    "REDIS_ERRORS",
    "STALE",
    "THIN_REDIS_ERRORS",
    "Gate",
    "GateReply",
    "ThinRequest",
    "answer",
    "error_body",
    "loop_redis",
    "rate_limited",
    "redis_failed",
    "refusal_body",
    "refuse",
    "reset",
    "token_entry",
    "token_entry_key",
]
