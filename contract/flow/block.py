"""Staff block a customer and unblock them (the Support role's
``customers.block_customer``): while blocked their draw is ``403
CUSTOMER_BLOCKED``, once unblocked it works. The refusals: no permission, no
reason, an unknown customer, no change, a customer at the staff call; and the
SMS budget staff read (a customer may not).

A customer of its own (frank) signs in here, so that a block left behind by a
broken run stops no other section."""

from couponsite_client.api.auth import me_retrieve
from couponsite_client.api.customers import (
    customers_block_create,
    customers_unblock_create,
    sms_budget_retrieve,
)
from couponsite_client.api.draws import campaigns_draws_create
from couponsite_client.models import (
    BlockReasonRequest,
    Customer,
    CustomerBlock,
    Draw,
    SmsBudget,
)

from contract.flow import Flow
from contract.flow.draw import create_campaign, draw_campaign
from contract.flow.signin import sign_in

NAME, PHONE = "frank", "+14155550307"
SLUG = "contract-draw-blocked"
SUPPORT_USERNAME = "support"
UNKNOWN_CUSTOMER = 2**62


def run(flow: Flow) -> None:
    flow.part("sms budget", sms_budget)
    client = sign_in(flow, NAME, PHONE)
    if client is None:
        flow.notes.append(f"staff block a customer: stopped early: {NAME} not in")
        return
    flow.customers[NAME] = client
    me = flow.need(
        flow.h.call(
            f"block: {NAME} reads his id",
            lambda: me_retrieve.sync_detailed(client=client),
            expect=200,
            want=Customer,
        ),
        f"{NAME}'s id",
    )
    flow.need(
        create_campaign(flow, "block: staff create a campaign", draw_campaign(SLUG)),
        "draw campaign",
    )
    flow.part("block: refusals", refusals, me.id)
    flow.part("block: block, refused draw, unblock, draw", block_and_unblock, me.id)


def reason(text: str) -> BlockReasonRequest:
    return BlockReasonRequest(reason=text)


def refusals(flow: Flow, customer_id: int) -> None:
    h = flow.h
    h.call(
        "block: a staff user without the permission",
        lambda: customers_block_create.sync_detailed(
            customer_id, client=flow.no_role, body=reason("abuse")
        ),
        expect=403,
        code="PERMISSION_DENIED",
    )
    h.call(
        "block: a customer blocks another",
        lambda: customers_block_create.sync_detailed(
            customer_id, client=flow.customer("alice"), body=reason("abuse")
        ),
        expect=403,
        code="PERMISSION_DENIED",
    )
    h.call(
        "block: without a token",
        lambda: customers_block_create.sync_detailed(
            customer_id,
            client=flow.anon,  # type: ignore[arg-type]
            body=reason("abuse"),
        ),
        expect=401,
        code="NOT_AUTHENTICATED",
    )
    h.call(
        "block: with an empty reason",
        lambda: customers_block_create.sync_detailed(
            customer_id, client=flow.support, body=reason("")
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "block: an unknown customer",
        lambda: customers_block_create.sync_detailed(
            UNKNOWN_CUSTOMER, client=flow.support, body=reason("abuse")
        ),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "unblock: a customer who is not blocked",
        lambda: customers_unblock_create.sync_detailed(
            customer_id, client=flow.support, body=reason("appeal")
        ),
        expect=409,
        code="STATUS_UNCHANGED",
    )


def block_and_unblock(flow: Flow, customer_id: int) -> None:
    h = flow.h
    customer = flow.customer(NAME)
    step = f"block: support block {NAME}"
    blocked = flow.need(
        h.call(
            step,
            lambda: customers_block_create.sync_detailed(
                customer_id,
                client=flow.support,
                body=reason("Many accounts"),
                idempotency_key="contract-block-1",
            ),
            expect=200,
            want=CustomerBlock,
        ),
        "block",
    )
    h.same(step, "block.id", blocked.id, customer_id)
    h.same(step, "block.blocked_at is set", blocked.blocked_at is not None, True)
    h.same(step, "block.blocked_reason", blocked.blocked_reason, "Many accounts")
    h.same(step, "block.blocked_by", blocked.blocked_by, SUPPORT_USERNAME)
    replay = h.call(
        "block: the same block retried with its Idempotency-Key",
        lambda: customers_block_create.sync_detailed(
            customer_id,
            client=flow.support,
            body=reason("Many accounts"),
            idempotency_key="contract-block-1",
        ),
        expect=200,
        want=CustomerBlock,
    )
    if replay is not None:
        sent = h.recorder.exchanges[-1].headers.get("idempotent-replayed")
        h.same("block: retried", "Idempotent-Replayed header", sent, "true")
    h.call(
        f"block: {NAME} again",
        lambda: customers_block_create.sync_detailed(
            customer_id, client=flow.support, body=reason("Again")
        ),
        expect=409,
        code="STATUS_UNCHANGED",
    )
    h.call(
        f"block: {NAME}, blocked, draws",
        lambda: campaigns_draws_create.sync_detailed(SLUG, client=customer),
        expect=403,
        code="CUSTOMER_BLOCKED",
    )
    step = f"unblock: support unblock {NAME}"
    unblocked = h.call(
        step,
        lambda: customers_unblock_create.sync_detailed(
            customer_id, client=flow.support, body=reason("Cleared on appeal")
        ),
        expect=200,
        want=CustomerBlock,
    )
    if unblocked is not None:
        h.same(step, "unblocked.blocked_at", unblocked.blocked_at, None)
        h.same(step, "unblocked.blocked_reason", unblocked.blocked_reason, None)
        h.same(step, "unblocked.blocked_by", unblocked.blocked_by, None)
    drawn = h.call(
        f"unblock: {NAME}, unblocked, draws",
        lambda: campaigns_draws_create.sync_detailed(SLUG, client=customer),
        expect=201,
        want=Draw,
    )
    if drawn is not None:
        h.same(f"unblock: {NAME} draws", "draw.won (probability 1)", drawn.won, True)


def sms_budget(flow: Flow) -> None:
    h = flow.h
    step = "sms budget: staff read it"
    budget = h.call(
        step,
        lambda: sms_budget_retrieve.sync_detailed(client=flow.staff),
        expect=200,
        want=SmsBudget,
    )
    if budget is not None and budget.budget is None:
        # No budget: nothing is counted (the schema says so).
        h.same(step, "sent without a budget", budget.sent, 0)
        h.same(step, "percent without a budget", budget.percent, None)
        h.same(step, "alarm without a budget", budget.alarm, False)
    h.call(
        "sms budget: a customer asks",
        lambda: sms_budget_retrieve.sync_detailed(client=flow.customer("alice")),
        expect=403,
        code="PERMISSION_DENIED",
    )
    h.call(
        "sms budget: without a token",
        lambda: sms_budget_retrieve.sync_detailed(client=flow.anon),  # type: ignore[arg-type]
        expect=401,
        code="NOT_AUTHENTICATED",
    )
