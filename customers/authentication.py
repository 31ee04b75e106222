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
token, with no pickled model: ``"<customer id>:<expires ms>"``, and
``":<language>"`` after it for a customer with a saved language, which the
thin path then answers in (``thin.token_entry``). It is written
when the token is made (so a stampede's first requests need no query) and
whenever the database is asked for a live customer token; every revocation
overwrites it with the same ``STALE`` mark in the same step (and so does
blocking a customer, whose tokens then get no thin entry while they are
blocked: Django answers them; and any change to the customer, a new saved
language among them: ``customers.signals``), and writers use
``SET NX``, so the same argument holds. It lives ``TOKEN_THIN_SECONDS`` at most
(never past the token's end), and the same one gap applies, bounded by that.
"""

import datetime as dt
import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from couponsite import metrics
from couponsite.redis_client import REDIS_ERRORS, get_redis
from couponsite.server.thin import STALE as THIN_STALE
from couponsite.server.thin import token_entry, token_entry_key
from customers.models import ApiToken, Customer, EmailVerification

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
        metrics.redis_fallback("tokens")
        logger.warning("tokens: could not mark thin entries stale", exc_info=True)


def _thin_seconds() -> int:
    return max(1, settings.TOKEN_THIN_SECONDS)


def remember_token(
    *,
    digest: str,
    customer_id: int,
    expires_at: dt.datetime,
    language: str = "",
    create: bool = False,
) -> None:
    """Write a customer token's thin entry (``couponsite.server.thin``), with
    their saved ``language`` ("" when they follow the request's).

    ``create``: the token was just made, so no revocation can be marked yet;
    otherwise only where no entry (and no stale mark) is.
    """
    remember_tokens([(digest, customer_id, expires_at, language)], create=create)


def remember_tokens(
    tokens: list[tuple[str, int, dt.datetime] | tuple[str, int, dt.datetime, str]],
    *,
    create: bool = False,
) -> None:
    """``remember_token`` for many (digest, customer id, expires at[, saved
    language]), in one round trip."""
    if shared_token_cache() is None or settings.TOKEN_THIN_SECONDS <= 0:
        return
    now = timezone.now()
    try:
        pipe = get_redis().pipeline(transaction=False)
        for digest, customer_id, expires_at, *language in tokens:
            left = int((expires_at - now).total_seconds())
            if left >= 1:
                pipe.set(
                    token_entry_key(digest),
                    token_entry(
                        customer_id, int(expires_at.timestamp() * 1000), *language
                    ),
                    ex=min(_thin_seconds(), left),
                    nx=not create,
                )
        pipe.execute()
    except REDIS_ERRORS:
        metrics.redis_fallback("tokens")
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


class _CustomerTokenQuery:
    """One indexed query for a customer token: the token's end, the customer
    and their email verification, read as plain rows into model instances.

    Every bench customer signs in once and draws once, so each request misses
    the token cache and pays this lookup: the ORM's three-table
    ``select_related`` cost 0.8 ms of CPU to build and read, this 0.2 ms. The
    columns come from the models' fields and are converted by the same
    converters a queryset applies, so the instances are what the ORM builds.
    """

    def __init__(self):
        self.customer_fields = Customer._meta.concrete_fields
        self.verification_fields = EmailVerification._meta.concrete_fields
        columns = ", ".join(
            [f"c.{field.column}" for field in self.customer_fields]
            + [f"e.{field.column}" for field in self.verification_fields]
        )
        self.sql = (
            f"SELECT t.expires_at, t.customer_id, {columns}"
            f" FROM {ApiToken._meta.db_table} t"
            f" LEFT JOIN {Customer._meta.db_table} c ON c.id = t.customer_id"
            f" LEFT JOIN {EmailVerification._meta.db_table} e ON e.customer_id = c.id"
            " WHERE t.digest = %s AND t.revoked_at IS NULL"
        )
        self.verification = EmailVerification._meta.get_field("customer")

    def __call__(self, digest: str) -> tuple[dt.datetime, Customer | None] | None:
        """(expires at, customer) of a live customer token, (expires at, None)
        of a staff token, None when there is no such token."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, [digest])
            row = cursor.fetchone()
        if row is None:
            return None
        token_fields = [ApiToken._meta.get_field("expires_at")]
        (expires_at,) = _converted(row[:1], token_fields)
        if row[1] is None:
            return expires_at, None
        split = 2 + len(self.customer_fields)
        customer = _instance(Customer, self.customer_fields, row[2:split])
        verification = None
        if row[split] is not None:
            verification = _instance(
                EmailVerification, self.verification_fields, row[split:]
            )
            self.verification.set_cached_value(verification, customer)
        # What select_related leaves: customer.email_verification needs no query.
        self.verification.remote_field.set_cached_value(customer, verification)
        return expires_at, customer


def _converted(values, fields) -> list:
    converted = []
    for value, field in zip(values, fields, strict=True):
        column = field.get_col(field.model._meta.db_table)
        for convert in [
            *connection.ops.get_db_converters(column),
            *column.get_db_converters(connection),
        ]:
            value = convert(value, column, connection)
        converted.append(value)
    return converted


def _instance(model, fields, values):
    return model.from_db(
        connection.alias,
        [field.attname for field in fields],
        _converted(values, fields),
    )


_customer_token = _CustomerTokenQuery()


def _from_database(digest: str) -> TokenOwner:
    found = _customer_token(digest)
    if found is None:
        return TokenOwner(None)
    expires_at, owner = found
    if owner is None:  # a staff token: the user, by the ORM (staff are few)
        token = (
            ApiToken.objects.filter(digest=digest, revoked_at__isnull=True)
            .select_related("user")
            .first()
        )
        owner = token and token.user
        allowed = owner is not None and owner.is_active and owner.is_staff
    else:
        allowed = owner.is_active
    return TokenOwner(owner if allowed else None, expires_at)


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
        # A blocked customer gets no thin entry: Django answers their requests.
        # A saved language goes in the entry: the thin path answers in it.
        if isinstance(found.owner, Customer) and found.owner.blocked_at is None:
            remember_token(
                digest=digest,
                customer_id=found.owner.pk,
                expires_at=found.expires_at,
                language=found.owner.language,
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
        if isinstance(found.owner, Customer) and found.owner.language:
            # The one place a customer's saved language takes over from
            # Accept-Language (LocaleMiddleware's choice) for the rest of the request.
            translation.activate(found.owner.language)
            request._request.LANGUAGE_CODE = found.owner.language
        return found.owner, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
