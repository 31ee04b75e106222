"""Employees see each rush day's figures; seed_demo makes a rush campaign."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.models import Campaign
from draws.models import RushDay
from draws.rush.services import rush_grab, rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, RUSHING, customers, rush_campaign


@pytest.fixture
def admin_client(client, db):
    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "x")
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_the_rush_day_list_shows_reservations_coupons_grabs_and_sold_out_time(
    admin_client,
):
    # given a rush day with 10 reservations, 2 coupons, both grabbed
    rush_local_state_clear()
    campaign = rush_campaign(name="Night rush")
    people = customers(10)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    for person in people[:2]:
        rush_grab(campaign=campaign, customer=person, now=RUSHING)
    rush_local_state_clear()

    # when an employee opens the rush days
    page = admin_client.get("/admin/draws/rushday/")
    detail = admin_client.get(
        f"/admin/draws/rushday/{RushDay.objects.get().pk}/change/"
    )

    # then the row has the figures, the sold-out time included
    assert page.status_code == 200 and detail.status_code == 200
    row = page.context["cl"].result_list[0]
    assert (row.reservations, row.coupons, row.grab_count) == (10, 2, 2)
    admin = page.context["cl"].model_admin
    assert admin.left(row) == 0
    assert admin.sold_out_at(row) == RUSHING
    assert admin.ratio_display(row) == "20.00%"
    assert b"Night rush" in page.content


@pytest.mark.django_db
@pytest.mark.parametrize("model", ["reservation", "grab"])
def test_reservations_and_grabs_are_listed(admin_client, model):
    assert admin_client.get(f"/admin/draws/{model}/").status_code == 200


@pytest.mark.django_db
def test_seed_demo_adds_the_nightly_rush():
    out = io.StringIO()

    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)

    rush = Campaign.objects.get(slug="nightly-rush")
    assert rush.kind == Campaign.Kind.RUSH
    assert rush.coupon_types.count() == 1
    assert "nightly-rush" in out.getvalue()


@pytest.mark.django_db
def test_grabs_export_as_csv(admin_client):
    rush_local_state_clear()
    campaign = rush_campaign(slug="csv-rush")
    people = customers(5)
    for person in people:
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    grab = rush_grab(campaign=campaign, customer=people[3], now=RUSHING)
    rush_local_state_clear()

    response = admin_client.post(
        "/admin/draws/grab/",
        {"action": "export_grabs", "_selected_action": [grab.pk]},
    )

    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "created_at,campaign,day,phone,reservation_number,code,via"
    assert lines[1].split(",")[1:5] == ["csv-rush", "2026-04-24", people[3].phone, "4"]
