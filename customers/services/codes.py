"""What the sign-in code (SMS) and the email code share: the checks of a typed code.

Both live in a row the caller has locked (``select_for_update``), so two tries
of one code cannot both pass and every wrong guess is counted.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.db.models import F
from django.utils.crypto import constant_time_compare

from couponsite.errors import DomainError


@dataclass(frozen=True)
class CodeRefusals:
    """The errors one kind of code answers with."""

    invalid: type[DomainError]
    expired: type[DomainError]
    attempts_exceeded: type[DomainError]


def code_refusal(
    challenge: models.Model | None,
    *,
    spent: bool,
    typed_hash: str,
    max_attempts: int,
    now: dt.datetime,
    refusals: CodeRefusals,
) -> DomainError | None:
    """Why the typed code is refused (a wrong guess is counted), or None if it is good.

    ``challenge`` is the locked row (``code_hash``, ``attempts``, ``expires_at``),
    ``spent`` whether it was already used, ``typed_hash`` the keyed hash of what
    was typed. The caller raises the error after its transaction commits, so the
    counted guess is not rolled back with it.
    """
    if challenge is None or spent:
        return refusals.invalid()
    if challenge.attempts >= max_attempts:
        return refusals.attempts_exceeded()
    if challenge.expires_at <= now:
        return refusals.expired()
    if not constant_time_compare(challenge.code_hash, typed_hash):
        type(challenge).objects.filter(pk=challenge.pk).update(
            attempts=F("attempts") + 1
        )
        return refusals.invalid()
    return None
