"""Redemptions on the thin path: a customer redeeming their own voucher (issue 18).

``POST /api/v1/vouchers/redeem`` comes here first (``couponsite.server.thin``).
Only the usual request of a customer at checkout is taken: a customer's bearer
token (the gate's token entry: staff tokens have none), a JSON body of just
``code`` and optionally ``order_ref``, both plain strings ``VoucherRedeemSerializer``
takes as they are, and a code that is well formed once normalized as the
service does (``normalize_code``). Then, after the "redeem" rate limits (the
gate counts the hit) and with the failure budget of ``VoucherRedeemApi``'s
``_attempt`` not spent (checked by the gate, counting nothing), the
redemption is committed by the group committer (``vouchers.group_commit``)
and answered ``200`` after its ``COMMIT``, with ``VoucherRedeemApi``'s bytes.

Everything else goes to Django, which decides from what is committed: any
other body (``email``, an ``order``, other fields, types, a blank or padded
value), a voucher with redemption rules (the batch leaves it: Django checks
the order and counts a per-customer limit under its lock), a spent
failure budget, a voucher the batch did not redeem (unknown, someone else's,
already redeemed, expired, void, a lapsed hold: Django gives the refusal and
counts the failure), a failed group commit, and every redemption while a
webhook endpoint subscribes to ``voucher.redeemed`` (or this process does not
know yet whether one does): Django emits it in the redemption's transaction. Django does not count the
"redeem" rate limit again for a request the gate counted
(``couponsite.server.router.RATE_COUNTED``).
"""

import json

from django.utils import timezone

from couponsite.api import throttling
from couponsite.codes import is_well_formed, normalize_code
from couponsite.group_commit import GroupCommitFailed, loop_committer
from couponsite.redis_client import redis_key
from couponsite.server import thin
from couponsite.server.router import (
    RATE_COUNTED,
    Receive,
    Route,
    Scope,
    Send,
    read_body,
)
from vouchers.group_commit import redeem_submit
from webhooks.events import EventType
from webhooks.subscriptions import thin_may_take

# As VoucherRedeemSerializer's fields: the longest code and order reference.
CODE_MAX_LENGTH = 64
ORDER_REF_MAX_LENGTH = 100
# A body worth reading here: the two fields, with room for escapes.
BODY_LIMIT = 1024

_JSON = frozenset({b"application/json", b"application/json; charset=utf-8"})

# The gate's body: the failure budget (``_attempt``'s ``refuse_if_spent``): when
# spent, Django refuses. keys: its windows (a key ending in ':' is the
# customer's); args: each one's count and period (ms).
REDEEM_GATE = thin.Gate.of(
    """
local function body(customer, keys, args)
  local budget, counts, periods = {}, {}, {}
  for i, key in ipairs(keys) do
    if string.sub(key, -1) == ':' then
      key = key .. customer
    end
    budget[i], counts[i], periods[i] = key, tonumber(args[2 * i - 1]), tonumber(args[2 * i])
  end
  if rate_wait(budget, counts, periods, now) > 0 then
    return {'PASS', 'budget'}
  end
  return {'REDEEM'}
end
"""
)


def redemption_wanted(body: bytes) -> tuple[str, str] | None:
    """(canonical code, order reference) of a body the thin path takes, or None."""
    try:
        data = json.loads(body.decode())
    except ValueError:  # (UnicodeDecodeError too)
        return None
    if not isinstance(data, dict) or not data.keys() <= {"code", "order_ref"}:
        return None
    code, order_ref = data.get("code"), data.get("order_ref")
    if not _plain(code, CODE_MAX_LENGTH):
        return None
    if order_ref is None:
        order_ref = ""  # as validate_order_ref: omitted or null is ""
    elif not _plain(order_ref, ORDER_REF_MAX_LENGTH):
        return None
    canonical = normalize_code(code)
    if not is_well_formed(canonical):
        return None  # Django says NOT_FOUND, and counts the failure
    return canonical, order_ref


def _plain(value: object, max_length: int) -> bool:
    """A string ``StrictCharField`` keeps as it is: not blank, nothing to trim,
    not too long, no control or surrogate characters."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value == value.strip()
        and value.isprintable()
    )


def _budget(request: thin.ThinRequest) -> tuple[list[str], list[int]]:
    """The failure budget's windows for the gate (``vouchers.api._attempt``)."""
    keys, args = [], []
    for name, identity in (
        ("redeem_fail_customer", "customer:"),  # the gate appends the id
        ("redeem_fail_ip", request.address),
    ):
        rate = throttling.rate_for(name)
        if rate is not None:
            keys.append(redis_key("rl", name, identity))
            args += [rate.count, rate.period * 1000]
    return keys, args


def _json(scope: Scope) -> bool:
    types = [value for name, value in scope["headers"] if name == b"content-type"]
    return len(types) == 1 and types[0].lower() in _JSON


async def redeem(scope: Scope, receive: Receive, send: Send) -> bool:
    """A customer's redemption of their own voucher, committed in a group; else Django's."""
    request = thin.ThinRequest.of(scope)
    if request is None or not _json(scope):
        return False
    if not thin_may_take(EventType.VOUCHER_REDEEMED):
        return False  # Django redeems, and emits the webhook in its transaction
    redis = thin.loop_redis()
    if redis is None:
        return False
    committer = loop_committer()
    if committer is None:
        return False
    body = await read_body(scope, receive, limit=BODY_LIMIT)
    if body is None:
        return False
    wanted = redemption_wanted(body)
    if wanted is None:
        return False
    keys, args = _budget(request)
    reply = await REDEEM_GATE.decide(
        send, redis, request=request, scope_name="redeem", keys=keys, args=args
    )
    if isinstance(reply, bool):
        return reply
    code, order_ref = wanted
    try:
        answer = await redeem_submit(
            committer,
            code=code,
            customer_id=int(reply[1]),
            order_ref=order_ref,
            now=timezone.now(),
        )
    except GroupCommitFailed:
        answer = None
    if answer is None:
        scope[RATE_COUNTED] = "redeem"
        return False
    await thin.answer(send, 200, answer, language=reply.language)
    return True


ROUTES = [
    Route.of("POST", r"/api/v1/vouchers/redeem", redeem, label="api/v1/vouchers/redeem")
]
