"""The lists' day filters use each campaign's local day, not the server's (UTC):
a claim made just after midnight in Auckland is "today" there while UTC's date
is still yesterday's."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.models import Claim
from draws.tests.factories import DrawFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AUCKLAND = zoneinfo.ZoneInfo("Pacific/Auckland")  # UTC+13 in November
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")  # UTC-8
# 00:30 on 1 December in Auckland: still 30 November, 11:30, in UTC.
AUCKLAND_PAST_MIDNIGHT = dt.datetime(2026, 12, 1, 0, 30, tzinfo=AUCKLAND)


def _shown(client, name: str, span: str) -> set[int]:
    page = client.get(reverse(f"admin:draws_{name}_changelist"), {"local_day": span})
    assert page.status_code == 200
    return {row.pk for row in page.context["cl"].result_list}


def test_todays_claims_are_those_of_the_campaigns_local_day(admin_client):
    campaign = claim_campaign(tz="Pacific/Auckland", released=3)
    before = AUCKLAND_PAST_MIDNIGHT - dt.timedelta(hours=1)  # 23:30 local, 30 Nov
    yesterdays = claim_take(campaign=campaign, customer=CustomerFactory(), now=before)
    todays = claim_take(
        campaign=campaign, customer=CustomerFactory(), now=AUCKLAND_PAST_MIDNIGHT
    )
    assert (yesterdays.day, todays.day) == (dt.date(2026, 11, 30), dt.date(2026, 12, 1))

    with time_machine.travel(AUCKLAND_PAST_MIDNIGHT + dt.timedelta(minutes=5)):
        today = _shown(admin_client, "claim", "today")
        yesterday = _shown(admin_client, "claim", "yesterday")
        week = _shown(admin_client, "claim", "past_7_days")

    assert today == {todays.pk}  # UTC's date, 30 November, would show the other
    assert yesterday == {yesterdays.pk}
    assert week == set(Claim.objects.values_list("pk", flat=True))


def test_each_campaign_has_its_own_today(admin_client):
    """At 11:30 UTC on 30 November it is already 1 December in Auckland and
    still 30 November, 03:30, in Los Angeles."""
    now = AUCKLAND_PAST_MIDNIGHT
    auckland = DrawFactory(
        campaign__timezone="Pacific/Auckland", day=dt.date(2026, 12, 1)
    )
    los_angeles = DrawFactory(
        campaign__timezone="America/Los_Angeles", day=dt.date(2026, 11, 30)
    )
    DrawFactory(campaign=auckland.campaign, day=dt.date(2026, 11, 30))
    DrawFactory(campaign=los_angeles.campaign, day=dt.date(2026, 12, 1))
    assert now.astimezone(LOS_ANGELES).date() == dt.date(2026, 11, 30)

    with time_machine.travel(now):
        today = _shown(admin_client, "draw", "today")

    assert today == {auckland.pk, los_angeles.pk}


def test_the_day_column_says_whose_day_it_is_and_times_name_their_zone(admin_client):
    with time_machine.travel(dt.datetime(2026, 11, 30, 11, 30, tzinfo=dt.UTC)):
        DrawFactory()
        page = admin_client.get(reverse("admin:draws_draw_changelist"))

    html = page.content.decode().lower()
    assert "day (campaign&#x27;s)" in html
    assert "2026-11-30 11:30 utc" in html
