"""The campaign page's dashboard: a bounded number of queries whatever the
campaign's size, a fragment view only staff who may view campaigns get, and the
back office's start page listing the campaigns running now."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from campaigns.figures import campaign_dashboard, campaigns_headlines
from campaigns.models import Campaign
from campaigns.tests.dashboard_support import admin_figures, dashboard, dashboard_url
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from customers.tests.factories import CustomerFactory
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign, make_customers
from draws.draw.services import draw_run
from draws.rush.services import rush_local_state_clear, rush_reserve
from draws.rush.tests.rush_support import RESERVING, customers, rush_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def _draw_scene(size: int) -> Campaign:
    campaign = CampaignFactory()
    for _ in range(size):
        CouponTypeFactory(campaign=campaign, probability=0.1)
    for n in range(3 * size):
        draw_run(campaign=campaign, customer=CustomerFactory(), roll=(n % 10) / 10)
    return campaign


def _claim_scene(size: int) -> Campaign:
    campaign = claim_campaign(slug=f"drop-{size}", released=4 * size, types=size)
    for person in make_customers(2 * size, start=1000 * size):
        claim_take(campaign=campaign, customer=person)
    return campaign


def _rush_scene(size: int) -> Campaign:
    rush_local_state_clear()
    campaign = rush_campaign(slug=f"rush-{size}")
    for person in customers(5 * size, start=100 * size):
        rush_reserve(campaign=campaign, customer=person, now=RESERVING)
    return campaign


@pytest.mark.parametrize(
    ("scene", "queries"),
    [
        # the coupon types, their coupons' counts, today's draws, the draws by
        # type, the latest days' seeds
        (_draw_scene, 5),
        # …, the claims, the releases' sum, the latest releases, the schedules
        (_claim_scene, 6),
        # …, the latest cycle's day, the recent days (grabs counted in both)
        (_rush_scene, 4),
    ],
)
def test_a_dashboard_takes_the_same_few_queries_however_big(
    scene, queries, django_assert_num_queries
):
    small, big = scene(1), scene(3)
    now = RESERVING if scene is _rush_scene else timezone.now()

    for campaign in (small, big):
        with django_assert_num_queries(queries):
            campaign_dashboard(campaign, now)


def test_the_start_page_takes_the_same_few_queries_however_many_campaigns_run(
    django_assert_num_queries,
):
    one_of_each = [_draw_scene(1), _claim_scene(1), _rush_scene(1)]
    two_of_each = [*one_of_each, _draw_scene(2), _claim_scene(2), _rush_scene(2)]

    for campaigns in (one_of_each, two_of_each):
        # coupon types, their coupons' counts, then today's draws, claims, rush days
        with django_assert_num_queries(5):
            lines = campaigns_headlines(campaigns, RESERVING)
        assert set(lines) == {campaign.pk for campaign in campaigns}


# --- The fragment view: staff who may view campaigns -----------------------------


def _user(django_user_model, *, staff: bool, may_view: bool):
    user = django_user_model.objects.create_user(
        username=f"u{staff}{may_view}", password="x", is_staff=staff
    )
    if may_view:
        user.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    return user


def test_the_fragment_is_refused_to_anyone_not_signed_in_as_staff(
    client, django_user_model
):
    campaign = claim_campaign(released=2)

    anonymous = client.get(dashboard_url(campaign))
    client.force_login(_user(django_user_model, staff=False, may_view=True))
    customer_like = client.get(dashboard_url(campaign))

    for response in (anonymous, customer_like):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_fragment_is_refused_to_staff_who_may_not_view_campaigns(
    client, django_user_model
):
    campaign = claim_campaign(released=2)
    client.force_login(_user(django_user_model, staff=True, may_view=False))

    assert client.get(dashboard_url(campaign)).status_code == 403


def test_staff_who_may_view_campaigns_get_the_fragment_alone(client, django_user_model):
    campaign = claim_campaign(released=2)
    claim_take(campaign=campaign, customer=CustomerFactory())
    client.force_login(_user(django_user_model, staff=True, may_view=True))

    response = client.get(dashboard_url(campaign))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<div") and "<html" not in html
    assert 'data-live="1"' in html
    assert admin_figures(html)["claims_today"] == 1
    assert "no-store" in response["Cache-Control"]


def test_an_unknown_campaign_is_not_found(admin_client):
    url = reverse("admin:campaigns_campaign_dashboard", args=[987654])

    assert admin_client.get(url).status_code == 404


def test_only_a_running_campaigns_page_refreshes_itself(admin_client):
    running = claim_campaign(slug="running")
    paused = claim_campaign(slug="paused")
    Campaign.objects.filter(pk=paused.pk).update(status=Campaign.Status.PAUSED)

    def page(campaign) -> str:
        url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
        return admin_client.get(url).content.decode()

    assert 'data-live="1"' in page(running)
    assert 'data-live="0"' in page(paused)
    assert "campaigns/dashboard.js" in page(running)
    assert dashboard(admin_client, paused)["claims"] == 0


# --- The start page --------------------------------------------------------------


def test_the_start_page_lists_the_campaigns_running_now_with_todays_figures(
    admin_client,
):
    drop = claim_campaign(slug="drop", released=5, tz="Europe/Berlin")
    claim_take(campaign=drop, customer=CustomerFactory())
    ended = claim_campaign(
        slug="over",
        starts_at=timezone.now() - dt.timedelta(days=9),
        ends_at=timezone.now() - dt.timedelta(days=1),
    )
    lucky = CouponTypeFactory(campaign__name="Lucky draw", probability=1).campaign
    draw_run(campaign=lucky, customer=CustomerFactory())

    page = admin_client.get(reverse("admin:index")).content.decode()

    start = page[page.index('id="running-campaigns"') : page.index('id="content-main"')]
    assert drop.name in start and lucky.name in start and ended.name not in start
    assert "Europe/Berlin, " + drop.local_day().isoformat() in start
    assert "claims today: <strong>1</strong>" in start
    assert "draws today: <strong>1</strong>" in start
    change = reverse("admin:campaigns_campaign_change", args=[drop.pk])
    assert f'href="{change}#campaign-dashboard"' in start


def test_the_back_office_is_titled_with_the_retailers_name(admin_client, settings):
    assert (
        "Couponsite coupon back office" in admin_client.get("/admin/").content.decode()
    )

    settings.RETAILER_NAME = "Acme"
    page = admin_client.get("/admin/").content.decode()

    assert "Acme coupon back office" in page
    assert "Django administration" not in page


def test_staff_who_may_not_view_campaigns_see_no_campaigns_on_the_start_page(client):
    user = get_user_model().objects.create_user(
        username="clerk", password="x", is_staff=True
    )
    claim_campaign(slug="secret-drop")
    client.force_login(user)

    page = client.get(reverse("admin:index")).content.decode()

    assert "secret-drop" not in page and "running-campaigns" not in page
