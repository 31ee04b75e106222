"""What comes with a lucky draw beside the draw itself: the campaign's daily
seeds (anyone reads them), a customer checking one of their draws, and staff
simulating the campaign's wins and cost; and the refusals of each (another's
draw, an unknown one, the wrong kind of campaign, a customer at a staff call,
a simulation too large)."""

from datetime import timedelta

from couponsite_client.api.draws import (
    campaigns_draw_seeds_list,
    campaigns_draws_create,
    campaigns_draws_verification_retrieve,
    campaigns_simulations_create,
)
from couponsite_client.models import (
    Draw,
    DrawVerification,
    PaginatedDrawSeedList,
    Simulation,
    SimulationInputRequest,
    SimulationTypeInputRequest,
)

from contract.flow import Flow, iso, now
from contract.flow.claim import claim_campaign
from contract.flow.draw import create_campaign, draw_campaign

SLUG = "contract-draw-checks"
CLAIM_SLUG = "contract-draw-checks-claim"
UNKNOWN_SLUG = "no-such-campaign"
# Long enough that the most runs allowed pass the simulation's work bound
# (2000 runs x 60 days x 24 hours x 2 > 2,000,000 steps).
DAYS = 60
UNKNOWN_DRAW = 2**62


def run(flow: Flow) -> None:
    h = flow.h
    body = draw_campaign(SLUG)
    body["ends_at"] = iso(now() + timedelta(days=DAYS))
    campaign = flow.need(
        create_campaign(flow, "draw checks: staff create a 60-day draw campaign", body),
        "draw campaign",
    )
    # A percentage has no money value: the simulation is told what one costs.
    costs = [
        SimulationTypeInputRequest(id=coupon_type.id, cost="2.50")
        for coupon_type in campaign.coupon_types
    ]
    create_campaign(
        flow, "draw checks: staff create a claim campaign", claim_campaign(CLAIM_SLUG)
    )
    drawn = h.call(
        "draw checks: alice draws",
        lambda: campaigns_draws_create.sync_detailed(
            SLUG, client=flow.customer("alice")
        ),
        expect=201,
        want=Draw,
    )
    flow.part("draw checks: seeds", seeds)
    if drawn is not None:
        flow.part("draw checks: verification", verification, drawn)
    else:
        flow.notes.append("draw checks: verification: stopped early: no draw")
    flow.part("draw checks: simulation", simulation, costs)


def seeds(flow: Flow) -> None:
    h = flow.h
    listed = h.call(
        "draw seeds: read anonymously after a draw",
        lambda: campaigns_draw_seeds_list.sync_detailed(SLUG, client=flow.anon),
        expect=200,
        want=PaginatedDrawSeedList,
    )
    if listed is not None:
        step = "draw seeds: read anonymously after a draw"
        h.same(step, "one seed (today's) after the first draw", listed.count, 1)
        if listed.results:
            today = listed.results[0]
            h.same(step, "today's seed is not revealed yet", today.revealed, False)
            h.same(step, "today's seed is null until revealed", today.seed, None)
    h.call(
        "draw seeds: a page of 0",
        lambda: campaigns_draw_seeds_list.sync_detailed(
            SLUG, client=flow.anon, limit=0
        ),
        expect=400,
        code="VALIDATION_ERROR",
        natural=False,
    )
    h.call(
        "draw seeds: an unknown campaign",
        lambda: campaigns_draw_seeds_list.sync_detailed(UNKNOWN_SLUG, client=flow.anon),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "draw seeds: a claim campaign",
        lambda: campaigns_draw_seeds_list.sync_detailed(CLAIM_SLUG, client=flow.anon),
        expect=409,
        code="WRONG_CAMPAIGN_KIND",
    )


def verification(flow: Flow, drawn: Draw) -> None:
    h = flow.h
    alice, bob = flow.customer("alice"), flow.customer("bob")
    step = "draw verification: alice checks her draw"
    checked = h.call(
        step,
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            SLUG, drawn.id, client=alice
        ),
        expect=200,
        want=DrawVerification,
    )
    if checked is not None:
        h.same(step, "verification.id vs the draw's", checked.id, drawn.id)
        h.same(step, "verification.campaign", checked.campaign, SLUG)
        h.same(step, "verification.day vs the draw's", checked.day, drawn.day)
        h.same(step, "verification.won vs the draw's", checked.won, drawn.won)
        h.same(
            step, "verification.verifiable (a seeded draw)", checked.verifiable, True
        )
        # The day has not ended: nothing to verify against yet.
        h.same(step, "verification.revealed (today)", checked.revealed, False)
        h.same(step, "verification.seed (today)", checked.seed, None)
        h.same(step, "verification.verified (today)", checked.verified, None)
        h.same(step, "0 <= verification.roll < 1", 0 <= checked.roll < 1, True)
        listed = h.call(
            "draw verification: the seeds list the day's hash",
            lambda: campaigns_draw_seeds_list.sync_detailed(SLUG, client=flow.anon),
            expect=200,
            want=PaginatedDrawSeedList,
        )
        if listed is not None:
            h.same(
                step,
                "verification.seed_hash is the published one",
                checked.seed_hash,
                next((s.seed_hash for s in listed.results if s.day == checked.day), ""),
            )
    h.call(
        "draw verification: bob asks for alice's draw",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            SLUG, drawn.id, client=bob
        ),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "draw verification: an unknown draw",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            SLUG, UNKNOWN_DRAW, client=alice
        ),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "draw verification: her draw under another campaign",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            CLAIM_SLUG, drawn.id, client=alice
        ),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "draw verification: an unknown campaign",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            UNKNOWN_SLUG, drawn.id, client=alice
        ),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "draw verification: without a token",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            SLUG,
            drawn.id,
            client=flow.anon,  # type: ignore[arg-type]
        ),
        expect=401,
        code="NOT_AUTHENTICATED",
    )
    h.call(
        "draw verification: staff are not customers",
        lambda: campaigns_draws_verification_retrieve.sync_detailed(
            SLUG, drawn.id, client=flow.staff
        ),
        expect=403,
        code="PERMISSION_DENIED",
    )


def simulation(flow: Flow, costs: list[SimulationTypeInputRequest]) -> None:
    h = flow.h

    def simulate(slug: str, client, **fields):
        body = SimulationInputRequest(coupon_types=costs, **fields)
        return lambda: campaigns_simulations_create.sync_detailed(
            slug, client=client, body=body
        )

    step = "simulation: staff simulate the campaign"
    done = h.call(
        step,
        simulate(SLUG, flow.staff, participants_per_day=500, runs=20, seed=7),
        expect=200,
        want=Simulation,
    )
    if done is not None:
        h.same(step, "simulation.campaign", done.campaign, SLUG)
        h.same(step, "simulation.runs", done.runs, 20)
        h.same(step, "simulation.seed", done.seed, 7)
        h.same(step, "simulation.timezone", done.timezone, "UTC")
        again = h.call(
            "simulation: the same inputs and seed again",
            simulate(SLUG, flow.staff, participants_per_day=500, runs=20, seed=7),
            expect=200,
            want=Simulation,
        )
        if again is not None:
            h.same(
                "simulation: the same inputs and seed again",
                "the same seed gives the same total",
                again.total.to_dict(),
                done.total.to_dict(),
            )
        h.call(
            "simulation: participants given day by day, default runs",
            simulate(SLUG, flow.staff, participants_by_day=[100] * len(done.days)),
            expect=200,
            want=Simulation,
        )
    h.call(
        "simulation: a percentage's cost left out",
        lambda: campaigns_simulations_create.sync_detailed(
            SLUG,
            client=flow.staff,
            body=SimulationInputRequest(participants_per_day=10, runs=10),
        ),
        expect=400,
        code="VALIDATION_ERROR",
    )
    h.call(
        "simulation: neither participants_per_day nor participants_by_day",
        simulate(SLUG, flow.staff, runs=10),
        expect=400,
        code="VALIDATION_ERROR",
    )
    h.call(
        "simulation: the most runs over 60 days",
        simulate(SLUG, flow.staff, participants_per_day=500, runs=2000),
        expect=400,
        code="SIMULATION_TOO_LARGE",
    )
    h.call(
        "simulation: a claim campaign",
        simulate(CLAIM_SLUG, flow.staff, participants_per_day=10),
        expect=409,
        code="WRONG_CAMPAIGN_KIND",
    )
    h.call(
        "simulation: an unknown campaign",
        simulate(UNKNOWN_SLUG, flow.staff, participants_per_day=10),
        expect=404,
        code="NOT_FOUND",
    )
    h.call(
        "simulation: a customer asks",
        simulate(SLUG, flow.customer("alice"), participants_per_day=10),
        expect=403,
        code="PERMISSION_DENIED",
    )
