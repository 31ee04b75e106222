"""``Idempotency-Key`` support for money-like actions (draw, claim, grab, redeem, generate).

Decorate a DRF handler with ``@idempotent``. A request carrying the header
first inserts an in-progress row (committed at once, unique on owner, endpoint
and key); the handler then runs in one transaction with the row's update to
"done" and the stored answer, so the effect and the record of it commit
together. A retry with the same key and the same body gets the stored answer
and has no second effect; with another body ``422``; while the first is still
running ``409``. Keys are replayed for ``IDEMPOTENCY_KEY_TTL_SECONDS`` (24 h)
and purged after ``RETENTION_IDEMPOTENCY`` (48 h).
"""

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from couponsite.api.throttling import principal_ref
from couponsite.errors import DomainError
from couponsite.models import IdempotencyKey
from couponsite.retention import purge_in_batches

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# Visible ASCII, no spaces (HTTP trims them at the ends anyway): the schema's pattern.
KEY_PATTERN = rf"^[!-~]{{1,{MAX_KEY_LENGTH}}}$"
_KEY = re.compile(KEY_PATTERN)

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=HEADER,
    location=OpenApiParameter.HEADER,
    required=False,
    type={"type": "string", "pattern": KEY_PATTERN, "maxLength": MAX_KEY_LENGTH},
    description=(
        "Any unique string of visible ASCII (a UUID is ideal). A retry with the "
        "same key and body returns the first answer (with `Idempotent-Replayed: "
        "true`) and has no second effect; keys live 24 hours."
    ),
)


class InvalidIdempotencyKey(DomainError):
    code = "INVALID_IDEMPOTENCY_KEY"
    detail = format_lazy(
        _("{header} must be 1 to {length} visible ASCII characters, no spaces."),
        header=HEADER,
        length=MAX_KEY_LENGTH,
    )


class IdempotencyKeyReused(DomainError):
    code = "IDEMPOTENCY_KEY_REUSED"
    detail = format_lazy(
        _("This {header} was already used with a different request."), header=HEADER
    )


class IdempotencyInProgress(DomainError):
    code = "IDEMPOTENCY_IN_PROGRESS"
    sends_retry_after = True
    detail = format_lazy(
        _("A request with this {header} is still being processed; retry shortly."),
        header=HEADER,
    )


IDEMPOTENCY_ERRORS = (
    InvalidIdempotencyKey,
    IdempotencyKeyReused,
    IdempotencyInProgress,
)


def _fingerprint(request) -> str:
    payload = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(
        f"{request.method} {request.path}\n{payload}".encode()
    ).hexdigest()


def _storable(response: Response) -> bool:
    """Final answers are replayed; a rate limit or a crash is worth retrying."""
    return response.status_code < 500 and response.status_code != 429


def _replay(record: IdempotencyKey) -> Response:
    return Response(
        record.response_body,
        status=record.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def _claim_key(*, owner: str, endpoint: str, key: str, fingerprint: str):
    """Insert the in-progress row, or answer from the row another request made."""
    now = timezone.now()
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    owner=owner,
                    endpoint=endpoint,
                    key=key,
                    request_hash=fingerprint,
                    created_at=now,
                    updated_at=now,
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(
                owner=owner, endpoint=endpoint, key=key
            ).first()
        if existing is None:
            continue  # deleted between our insert and our read: try again
        expired = existing.created_at < now - timedelta(
            seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS
        )
        abandoned = (
            existing.state == IdempotencyKey.State.IN_PROGRESS
            and existing.updated_at
            < now - timedelta(seconds=settings.IDEMPOTENCY_STALE_SECONDS)
        )
        if expired or abandoned:
            # Conditional on updated_at so two takers cannot both delete a fresh row.
            IdempotencyKey.objects.filter(
                pk=existing.pk, updated_at=existing.updated_at
            ).delete()
            continue
        if existing.request_hash != fingerprint:
            raise IdempotencyKeyReused()
        if existing.state == IdempotencyKey.State.IN_PROGRESS:
            raise IdempotencyInProgress(retry_after=1)
        return _replay(existing)
    raise IdempotencyInProgress(retry_after=1)


def idempotent(handler):
    """Make a DRF view handler (``post``) honour the ``Idempotency-Key`` header."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return handler(view, request, *args, **kwargs)
        if not _KEY.fullmatch(key):
            raise InvalidIdempotencyKey()

        claimed = _claim_key(
            owner=principal_ref(request.user),
            endpoint=f"{request.method} {request.path}",
            key=key,
            fingerprint=_fingerprint(request),
        )
        if isinstance(claimed, Response):
            return claimed
        try:
            with transaction.atomic():
                try:
                    response = handler(view, request, *args, **kwargs)
                except Exception as exc:
                    response = view.handle_exception(exc)
                if _storable(response):
                    IdempotencyKey.objects.filter(pk=claimed.pk).update(
                        state=IdempotencyKey.State.DONE,
                        response_status=response.status_code,
                        response_body=response.data,
                        updated_at=timezone.now(),
                    )
                else:
                    claimed.delete()
        except BaseException:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
            raise
        return response

    wrapper.idempotent = True  # the schema declares Idempotent-Replayed for it
    return wrapper


def idempotency_keys_purge(*, now=None) -> int:
    """Delete the keys older than ``RETENTION_IDEMPOTENCY`` (never sooner than
    the replay window, ``IDEMPOTENCY_KEY_TTL_SECONDS``), in batches; how many
    (``manage.py purge_idempotency_keys``, ``purge_expired`` and the hourly
    task). Idempotent: a second run finds nothing older, and a key expired
    meanwhile is dropped by whichever run sees it (a concurrent delete of the
    same row just skips it)."""
    keep = max(
        settings.RETENTION_IDEMPOTENCY,
        timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
    )
    cutoff = (now or timezone.now()) - keep
    return purge_in_batches(
        IdempotencyKey.objects.filter(created_at__lt=cutoff), kind="idempotency_keys"
    )
