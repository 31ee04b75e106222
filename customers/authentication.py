"""Bearer tokens, and who they belong to.

Who a token belongs to is asked on every request. The answer is cached only in
a cache every worker shares (Redis, when ``REDIS_URL`` is set), never in one
process's memory: without Redis every request asks the database (one indexed
query), so a token revoked anywhere is refused by every worker on the next
request.

The cached customer carries their email verification (``GET /me`` shows the
pending email without a query), so the email services mark the customer's
tokens stale too when it changes (``forget_tokens_of``).

With Redis, an entry lives at most ``TOKEN_CACHE_SECONDS`` (and never past the
token's ``expires_at``, which is also checked on every hit). When a token, its
customer or its user changes, ``forget_tokens`` overwrites the entries with a
``STALE`` mark after commit; while the mark lives, requests ask the database
and do not cache, and entries are written with ``add`` (only where no key is),
so a request that read the token just before the revocation cannot put the
old answer back. The one gap: if Redis cannot be reached at the moment of the
revocation, the mark is lost, and an entry written before it may still be
served until it times out, at most ``TOKEN_CACHE_SECONDS`` after the
revocation (``docs/architecture.md``, "Caches").

The thin path (``couponsite.server.thin``) reads a smaller entry per customer
token, with no pickled model: ``"<customer id>:<expires ms>"``. It is written
when the token is made (so a stampede's first requests need no query) and
whenever the database is asked for a live customer token; every revocation
overwrites it with the same ``STALE`` mark in the same step, and writers use
``SET NX``, so the same argument holds. It lives ``TOKEN_THIN_SECONDS`` at most
(never past the token's end), and the same one gap applies, bounded by that.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from couponsite.redis_client import REDIS_ERRORS, get_redis
from couponsite.server.thin import STALE as THIN_STALE
from couponsite.server.thin import token_entry, token_entry_key
from customers.models import ApiToken, Customer

logger = logging.getLogger(__name__)

STALE = "stale"


class TokenExpired(AuthenticationFailed):
    default_detail = _("This token has expired; sign in again.")
    default_code = "token_expired"
    api_code = "TOKEN_EXPIRED"


@dataclass(frozen=True)
class TokenOwner:
    """What a token digest stands for: its owner (None: unknown, revoked or no
    longer allowed) and, for a known token, when it ends."""

    owner: object | None
    expires_at: dt.datetime | None = None


def token_cache_key(digest: str) -> str:
    return f"token:{digest}"


def shared_token_cache():
    """The cache for token owners, or None: only Redis, which every worker shares."""
    if settings.REDIS_URL and settings.TOKEN_CACHE_SECONDS > 0:
        return cache
    return None


def forget_tokens(digests: list[str]) -> None:
    """Mark the cached owners of these tokens stale (call after commit)."""
    shared = shared_token_cache()
    if shared is None or not digests:
        return
    shared.set_many(
        {token_cache_key(digest): STALE for digest in digests},
        settings.TOKEN_CACHE_SECONDS,
    )
    redis = get_redis()
    try:
        pipe = redis.pipeline(transaction=False)
        for digest in digests:
            pipe.set(token_entry_key(digest), THIN_STALE, ex=_thin_seconds())
        pipe.execute()
    except REDIS_ERRORS:
        logger.warning("tokens: could not mark thin entries stale", exc_info=True)


def _thin_seconds() -> int:
    return max(1, settings.TOKEN_THIN_SECONDS)


def remember_token(
    *, digest: str, customer_id: int, expires_at: dt.datetime, create: bool = False
) -> None:
    """Write a customer token's thin entry (``couponsite.server.thin``).

    ``create``: the token was just made, so no revocation can be marked yet;
    otherwise only where no entry (and no stale mark) is.
    """
    remember_tokens([(digest, customer_id, expires_at)], create=create)


def remember_tokens(
    tokens: list[tuple[str, int, dt.datetime]], *, create: bool = False
) -> None:
    """``remember_token`` for many (digest, customer id, expires at), in one round trip."""
    if shared_token_cache() is None or settings.TOKEN_THIN_SECONDS <= 0:
        return
    now = timezone.now()
    try:
        pipe = get_redis().pipeline(transaction=False)
        for digest, customer_id, expires_at in tokens:
            left = int((expires_at - now).total_seconds())
            if left >= 1:
                pipe.set(
                    token_entry_key(digest),
                    token_entry(customer_id, int(expires_at.timestamp() * 1000)),
                    ex=min(_thin_seconds(), left),
                    nx=not create,
                )
        pipe.execute()
    except REDIS_ERRORS:
        logger.warning("tokens: could not write thin entries", exc_info=True)


def forget_tokens_on_commit(digests: list[str]) -> None:
    if digests and shared_token_cache() is not None:
        transaction.on_commit(lambda: forget_tokens(digests))


def forget_tokens_of(*, customer_id: int | None = None, user_id: int | None = None):
    """After commit, mark stale the cached owner of every live token of a customer
    or a user: what the cache holds about them changed."""
    if shared_token_cache() is None:
        return  # nothing cached: every request asks the database
    if customer_id:
        tokens = ApiToken.objects.active().filter(customer_id=customer_id)
    else:
        tokens = ApiToken.objects.active().filter(user_id=user_id)
    forget_tokens_on_commit(list(tokens.values_list("digest", flat=True)))


def _from_database(digest: str) -> TokenOwner:
    # The customer comes with their email verification: GET /me shows it.
    token = (
        ApiToken.objects.filter(digest=digest, revoked_at__isnull=True)
        .select_related("customer", "customer__email_verification", "user")
        .first()
    )
    if token is None:
        return TokenOwner(None)
    owner = token.owner
    allowed = (
        owner is not None and owner.is_active and (token.customer_id or owner.is_staff)
    )
    return TokenOwner(owner if allowed else None, token.expires_at)


def token_owner(digest: str) -> TokenOwner:
    """Who the token with this digest belongs to, from Redis or the database."""
    shared = shared_token_cache()
    if shared is None:
        return _from_database(digest)
    key = token_cache_key(digest)
    cached = shared.get(key)
    if isinstance(cached, TokenOwner):
        return cached
    found = _from_database(digest)
    if cached != STALE:
        ttl = settings.TOKEN_CACHE_SECONDS
        if found.expires_at is not None:
            left = (found.expires_at - timezone.now()).total_seconds()
            if left > 0:
                ttl = min(ttl, left)
        shared.add(key, found, max(1, int(ttl)))
        if isinstance(found.owner, Customer):
            remember_token(
                digest=digest, customer_id=found.owner.pk, expires_at=found.expires_at
            )
    return found


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` for customers and staff alike.

    ``request.user`` becomes the ``Customer`` or the staff ``User``; a revoked
    or expired token, a token of a deactivated customer, or of a user who is no
    longer staff, is refused (``INVALID_TOKEN``, or ``TOKEN_EXPIRED``).
    """

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Use 'Authorization: Bearer <token>'."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        found = token_owner(ApiToken.digest_of(raw))
        if found.owner is None:
            raise AuthenticationFailed(_("Invalid, revoked or no longer valid token."))
        if found.expires_at <= timezone.now():
            raise TokenExpired()
        return found.owner, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
