"""The back office's "Over time" page: each kind's events charted, bounded queries,
staff with the campaign's view permission only."""

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from couponsite.timeseries import Span, day_of, days_between, hour_until
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.claim.timeline import claim_timeline
from draws.draw.timeline import draw_timeline
from draws.models import Draw
from draws.over_time import over_time_charts
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign
from draws.rush.timeline import rush_span, rush_timeline
from draws.tests.factories import DrawFactory
from vouchers.services import voucher_redeem, voucher_rollback_redemption
from vouchers.tests.factories import VoucherFactory
from vouchers.timeline import redemption_timeline

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SVG = "{http://www.w3.org/2000/svg}"


def url(campaign, range_name: str | None = None) -> str:
    path = reverse("campaign-over-time", args=[campaign.pk])
    return f"{path}?range={range_name}" if range_name else path


def svgs(response) -> list[ET.Element]:
    """The page's charts, each parsed as XML (the admin's own icons left aside)."""
    html, opening = (
        response.content.decode(),
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart"',
    )
    found, start = [], html.find(opening)
    while start != -1:
        end = html.index("</svg>", start) + len("</svg>")
        found.append(ET.fromstring(html[start:end]))
        start = html.find(opening, end)
    return found


def staff(*perms: str) -> User:
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    return user


@pytest.mark.parametrize("range_name", ["hour", "today", "life"])
def test_a_draw_campaigns_page_charts_its_draws_wins_and_redemptions(
    admin_client, range_name
):
    campaign = CampaignFactory(timezone="Asia/Taipei")
    DrawFactory.create_batch(3, campaign=campaign)

    page = admin_client.get(url(campaign, range_name))

    assert page.status_code == 200
    charts = svgs(page)
    titles = [chart.find(f"{SVG}title").text for chart in charts]
    assert [title.split(" — ")[0] for title in titles] == [
        "Draws and wins",
        "Redemptions",
    ]
    assert "Draws 3" in charts[0].find(f"{SVG}desc").text
    assert "(Asia/Taipei)" in page.content.decode()


def test_the_change_page_links_to_over_time(admin_client):
    campaign = CampaignFactory()

    page = admin_client.get(
        reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    )

    assert f'href="{url(campaign)}"' in page.content.decode()


def test_staff_without_the_campaigns_view_permission_are_refused(client):
    campaign = CampaignFactory()
    client.force_login(staff("view_draw"))

    assert client.get(url(campaign)).status_code == 403


def test_staff_with_the_view_permission_see_it(client):
    campaign = CampaignFactory()
    client.force_login(staff("view_campaign"))

    assert client.get(url(campaign)).status_code == 200


def test_people_not_signed_in_are_sent_to_the_admin_sign_in(client):
    page = client.get(url(CampaignFactory()))

    assert page.status_code == 302 and "/admin/login/" in page["Location"]


@pytest.mark.parametrize("range_name", ["week", "rush"])  # rush: only rush campaigns
def test_an_unknown_range_is_a_clear_400(admin_client, range_name):
    page = admin_client.get(url(CampaignFactory(), range_name))

    assert page.status_code == 400
    assert "choose one of hour, today, life" in page.content.decode()


def test_a_missing_campaign_is_a_404(admin_client):
    assert (
        admin_client.get(reverse("campaign-over-time", args=[999_999])).status_code
        == 404
    )


def test_a_draw_campaign_costs_two_queries(django_assert_num_queries):
    campaign = CampaignFactory()
    DrawFactory.create_batch(2, campaign=campaign)
    span = day_of(timezone.now(), campaign.tz)

    with django_assert_num_queries(2):  # draws and wins together; redemptions
        charts = over_time_charts(campaign, span)

    assert sum(charts[0].series[0].values) == 2


def test_claims_and_lapses_count_when_made_and_when_the_hold_ran_out(
    django_assert_num_queries,
):
    # given three claims: one redeemed in its hold, one lapsed, one still held
    now = timezone.now().replace(second=0, microsecond=0)
    campaign = claim_campaign(hold_seconds=120, released=3)
    kept, lapsed, running = make_customers(3)
    claim = claim_take(
        campaign=campaign, customer=kept, now=now - dt.timedelta(minutes=10)
    )
    voucher_redeem(
        code=claim.voucher.code, customer=kept, now=now - dt.timedelta(minutes=9)
    )
    claim_take(campaign=campaign, customer=lapsed, now=now - dt.timedelta(minutes=10))
    claim_take(campaign=campaign, customer=running, now=now - dt.timedelta(seconds=30))
    span = hour_until(now, campaign.tz)

    # when
    with django_assert_num_queries(3):  # claims, holds ended, holds redeemed
        chart = claim_timeline(campaign, span, now)

    # then the claims count at their minutes, the one lapse two minutes later
    claims, lapses = (series.values for series in chart.series)
    assert claims[-11] == 2 and claims[-2] == 1 and sum(claims) == 3
    assert lapses[-9] == 1 and sum(lapses) == 1


def test_reservations_and_grabs_count_per_second_of_the_rush(
    django_assert_num_queries,
):
    rush_local_state_clear()
    campaign = rush_campaign()
    people = customers(5)  # one coupon per five reservations
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    rush_grab(campaign=campaign, customer=people[0], now=RUSHING)
    rush_local_state_clear()
    span = rush_span(campaign, RUSHING)
    reserving = Span(
        start=RESERVING,
        end=RESERVING + dt.timedelta(seconds=1),
        unit="second",
        tz=campaign.tz,
    )

    with django_assert_num_queries(2):
        chart = rush_timeline(campaign, span)

    assert len(span.buckets()) == 60  # the rush minute, 23:00:00-23:00:59
    reservations, grabs = (series.values for series in chart.series)
    assert sum(reservations) == 0 and grabs[10] == 1 and sum(grabs) == 1
    assert rush_timeline(campaign, reserving).series[0].values == [5]


def test_redemptions_count_when_used_and_a_rolled_back_one_does_not():
    campaign = CampaignFactory()
    now = timezone.now()
    first, second = VoucherFactory.create_batch(2, coupon_type__campaign=campaign)
    for voucher in (first, second):
        voucher_redeem(code=voucher.code, customer=voucher.owner, now=now)
    first.refresh_from_db()
    voucher_rollback_redemption(
        voucher=first, acting_user=None, reason="order cancelled"
    )

    chart = redemption_timeline(campaign, hour_until(now, campaign.tz))

    assert chart.series[0].values[-1] == 1 and sum(chart.series[0].values) == 1
    assert Draw.objects.count() == 0


@pytest.mark.parametrize("range_name", ["rush", "life"])
def test_a_rush_campaigns_page_offers_the_rush_by_the_second(admin_client, range_name):
    campaign = rush_campaign()

    page = admin_client.get(url(campaign, range_name))

    assert page.status_code == 200
    titles = [chart.find(f"{SVG}title").text for chart in svgs(page)]
    assert titles[0].startswith("Reservations and grabs")
    assert "The rush, per second" in page.content.decode()


def test_a_claim_campaigns_page_charts_claims_and_lapses(admin_client):
    page = admin_client.get(url(claim_campaign()))

    assert page.status_code == 200
    assert svgs(page)[0].find(f"{SVG}title").text.startswith("Claims and lapsed holds")


def test_per_day_a_draw_counts_on_its_local_day(django_assert_num_queries):
    # given a draw at 23:30 in Taipei (15:30 UTC) and one at 00:30 the next day
    campaign = CampaignFactory(timezone="Asia/Taipei")
    taipei = campaign.tz
    for clock in (dt.datetime(2026, 11, 24, 23, 30), dt.datetime(2026, 11, 25, 0, 30)):
        moment = clock.replace(tzinfo=taipei)
        draw = DrawFactory(campaign=campaign, day=moment.date())
        Draw.objects.filter(pk=draw.pk).update(created_at=moment)
    span = days_between(
        dt.datetime(2026, 11, 23, 12, tzinfo=taipei),
        dt.datetime(2026, 11, 26, 12, tzinfo=taipei),
        taipei,
    )

    with django_assert_num_queries(1):
        draws = draw_timeline(campaign, span).series[0].values

    assert draws == [0, 1, 1, 0]


def test_a_lapsed_coupon_claimed_again_and_redeemed_lapses_once(
    django_assert_num_queries,
):
    # given one coupon: Ann lets her hold run out, Bob claims it and redeems it
    now = timezone.now().replace(second=0, microsecond=0)
    campaign = claim_campaign(hold_seconds=120, released=1, tz="Asia/Taipei")
    ann, bob = make_customers(2)
    claim_take(campaign=campaign, customer=ann, now=now - dt.timedelta(minutes=20))
    claim = claim_take(
        campaign=campaign, customer=bob, now=now - dt.timedelta(minutes=10)
    )
    voucher_redeem(
        code=claim.voucher.code, customer=bob, now=now - dt.timedelta(minutes=9)
    )
    hour = hour_until(now, campaign.tz)
    life = days_between(now - dt.timedelta(days=2), now, campaign.tz)

    # when
    per_minute = claim_timeline(campaign, hour, now)
    with django_assert_num_queries(2):  # per day: claims and ended holds in one
        per_day = claim_timeline(campaign, life, now)

    # then Ann's hold lapsed at its end, Bob's did not
    claims, lapses = (series.values for series in per_minute.series)
    assert sum(claims) == 2 and lapses[-19] == 1 and sum(lapses) == 1
    claims, lapses = (series.values for series in per_day.series)
    anns_day = (now - dt.timedelta(minutes=20)).astimezone(campaign.tz).date()
    assert sum(claims) == 2 and sum(lapses) == 1
    assert lapses[life.buckets().index(life.bucket_of(anns_day))] == 1
