"""What each app does when a customer is erased (``customers.services.erasure``).

Like the parts of the export (``customers.export``): what a customer did lives
in the apps above this one, which customers must not import, so each app
registers, in its ``AppConfig.ready``, a function that anonymises its own rows
of the customer (``register_erasure_part``). The functions run inside the
erasure's transaction, before the customer's row is anonymised, and receive
who the customer was (``ErasedCustomer``): the phone and emails to look for.

A part removes or replaces personal data only. Rows that count (draws, claims,
reservations, grabs, vouchers and their history) stay, linked to the
anonymised customer row, so quotas, once-a-day rules and campaign figures read
the same before and after.
"""

from collections.abc import Callable
from dataclasses import dataclass

from customers.models import Customer


@dataclass(frozen=True)
class ErasedCustomer:
    """The customer being erased, and who they were (read before anything changed)."""

    customer: Customer
    phone: str
    # Their verified email (None: none), lower-case.
    email: str | None
    # That one and the one they last asked for (verified or not).
    emails: frozenset[str]


_PARTS: dict[str, Callable[[ErasedCustomer], object]] = {}


def register_erasure_part(name: str, erase: Callable[[ErasedCustomer], object]) -> None:
    """Add (or replace, by ``name``) what ``erase(erased)`` does to every erasure."""
    _PARTS[name] = erase


def erasure_parts() -> list[tuple[str, Callable[[ErasedCustomer], object]]]:
    return sorted(_PARTS.items())
