"""Rules about answers that a JSON schema cannot state, checked on every body."""

from collections.abc import Iterator
from typing import Any

# Optional text a voucher or coupon type may lack. ("email" is left to its
# schema: `format: email` already refuses "".)
OPTIONAL_BENEFIT_TEXT = ("currency", "free_item")


BLANK = '"" where there is none (absent is null, as in Customer.email)'


def absent_is_null(body: Any) -> Iterator[tuple[str, str]]:
    """A value that is not there is null, never "". Yields (field, problem)."""
    if isinstance(body, list):
        for item in body:
            yield from absent_is_null(item)
        return
    if not isinstance(body, dict):
        return
    benefit = body.get("benefit")
    if isinstance(benefit, dict):
        for key in OPTIONAL_BENEFIT_TEXT:
            if benefit.get(key) == "":
                yield f"benefit.{key}", BLANK
    if body.get("order_ref") == "":
        yield "order_ref", BLANK
    for key, value in body.items():
        if key != "benefit":
            yield from absent_is_null(value)


RULES = [absent_is_null]
