"""Every staff write about campaigns is recorded in the audit log, in its own
transaction: creation (API and admin), admin edits (status, odds and quotas named as
such), the status actions (with a reason) and deletion. Refused writes record nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.db.models import ProtectedError
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CouponType
from campaigns.quotas import quota_take
from campaigns.selectors import campaign_by_slug
from campaigns.tests.admin_forms import campaign_add_form, campaign_add_url
from campaigns.tests.factories import CampaignFactory
from couponsite.localcache import local_clear
from couponsite.models import AuditEntry
from draws.tests.factories import DrawFactory

pytestmark = pytest.mark.django_db

ADD_URL = campaign_add_url()
LIST_URL = reverse("admin:campaigns_campaign_changelist")
NOW = timezone.now().replace(microsecond=0)


def _actions(**filters) -> list[str]:
    return list(
        AuditEntry.objects.filter(**filters)
        .order_by("id")
        .values_list("action", flat=True)
    )


def _entry(action: str) -> AuditEntry:
    return AuditEntry.objects.get(action=action)


def _api_payload(**overrides) -> dict:
    return {
        "name": "Summer Lucky Draw",
        "kind": "draw",
        "timezone": "Asia/Hong_Kong",
        "starts_at": NOW.isoformat(),
        "ends_at": (NOW + dt.timedelta(days=90)).isoformat(),
        "coupon_types": [
            {
                "name": "$5 Cash Coupon",
                "benefit_kind": "amount",
                "amount": "5",
                "currency": "usd",
                "probability": "0.05",
                "total_quota": 100,
                "daily_quota": 10,
            },
            {
                "name": "Buy 1 get 1 free",
                "benefit_kind": "free_item",
                "free_item": "Buy 1 get 1 free",
                "probability": "0.3",
            },
        ],
        **overrides,
    }


# --- Creation ------------------------------------------------------------------------


def test_a_campaign_created_through_the_api_is_recorded_with_its_types(
    staff_client, staff_user
):
    response = staff_client.post("/api/v1/campaigns", _api_payload(), format="json")

    assert response.status_code == 201
    campaign = Campaign.objects.get()
    assert campaign.created_by == staff_user
    assert _actions() == [
        "campaign.created",
        "coupon_type.created",
        "coupon_type.created",
    ]
    assert set(AuditEntry.objects.values_list("acting_user", flat=True)) == {
        staff_user.pk
    }
    created = _entry("campaign.created")
    assert created.target == campaign
    assert created.changes["name"] == [None, "Summer Lucky Draw"]
    assert created.changes["status"] == [None, "active"]
    first_type = (
        AuditEntry.objects.filter(action="coupon_type.created").order_by("id").first()
    )
    assert first_type.target == campaign.coupon_types.get(name="$5 Cash Coupon")
    assert first_type.changes["daily_quota"] == [None, 10]
    assert Decimal(first_type.changes["probability"][1]) == Decimal("0.05")


def test_a_refused_api_creation_records_nothing(staff_client):
    payload = _api_payload(ends_at=(NOW - dt.timedelta(days=1)).isoformat())

    response = staff_client.post("/api/v1/campaigns", payload, format="json")

    assert response.status_code == 400
    assert not Campaign.objects.exists()
    assert not AuditEntry.objects.exists()


def test_a_campaign_added_in_the_admin_is_made_by_the_same_service(
    admin_client, admin_user
):
    data = campaign_add_form(**{"coupon_types-0-daily_quota": "10"})

    response = admin_client.post(ADD_URL, data)

    assert response.status_code == 302
    campaign = Campaign.objects.get(slug="admin-draw")
    assert response["Location"] == LIST_URL
    assert campaign.created_by == admin_user
    assert campaign.coupon_types.get().daily_quota == 10
    assert _actions(acting_user=admin_user) == [
        "campaign.created",
        "coupon_type.created",
    ]
    assert _entry("campaign.created").target == campaign
    # The admin's own log still says what was added.
    log = LogEntry.objects.get(object_id=str(campaign.pk))
    assert log.is_addition() and "$2 Cash Coupon" in log.get_change_message()


def test_save_and_continue_opens_the_new_campaign(admin_client):
    response = admin_client.post(ADD_URL, {**campaign_add_form(), "_continue": "1"})

    campaign = Campaign.objects.get(slug="admin-draw")
    # (the admin keeps the add page's query, ?kind=draw, which the change page ignores)
    assert response["Location"].split("?")[0] == reverse(
        "admin:campaigns_campaign_change", args=[campaign.pk]
    )


def test_a_refused_admin_creation_records_nothing(admin_client):
    data = campaign_add_form(**{"coupon_types-0-probability": "1.5"})

    response = admin_client.post(ADD_URL, data)

    assert response.status_code == 200  # the form again, with its errors
    assert not Campaign.objects.exists()
    assert not AuditEntry.objects.exists()


# --- Admin edits ---------------------------------------------------------------------


@pytest.fixture
def added(admin_client) -> Campaign:
    """A campaign added in the admin (campaign_add_form); its audit rows cleared."""
    data = campaign_add_form(
        **{"coupon_types-0-total_quota": "100", "coupon_types-0-daily_quota": "10"}
    )
    assert admin_client.post(ADD_URL, data).status_code == 302
    AuditEntry.objects.all().delete()
    return Campaign.objects.get(slug="admin-draw")


def _edit(admin_client, campaign: Campaign, **overrides):
    """POST the campaign's change page with what campaign_add_form added, changed
    by ``overrides``."""
    coupon_type = campaign.coupon_types.get(name="$2 Cash Coupon")
    data = campaign_add_form(
        **{
            "coupon_types-INITIAL_FORMS": "1",
            "coupon_types-0-id": str(coupon_type.pk),
            "coupon_types-0-campaign": str(campaign.pk),
            "coupon_types-0-total_quota": "100",
            "coupon_types-0-daily_quota": "10",
            **overrides,
        }
    )
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    return admin_client.post(url, data)


def test_an_edit_records_odds_quotas_and_other_fields_each_by_name(
    admin_client, admin_user, added
):
    response = _edit(
        admin_client,
        added,
        description="Back soon.",
        **{
            "coupon_types-0-probability": "0.25",
            "coupon_types-0-daily_quota": "20",
            "coupon_types-0-category": "cash",
        },
    )

    assert response.status_code == 302, response.context["errors"]
    coupon_type = added.coupon_types.get()
    assert (coupon_type.probability, coupon_type.daily_quota) == (Decimal("0.25"), 20)
    assert sorted(_actions(acting_user=admin_user)) == [
        "campaign.changed",
        "coupon_type.changed",
        "coupon_type.odds_changed",
        "coupon_type.quotas_changed",
    ]
    assert _entry("campaign.changed").changes == {"description": ["", "Back soon."]}
    odds = _entry("coupon_type.odds_changed")
    assert odds.target == coupon_type
    assert [Decimal(p) for p in odds.changes["probability"]] == [
        Decimal("0.5"),
        Decimal("0.25"),
    ]
    assert _entry("coupon_type.quotas_changed").changes == {"daily_quota": [10, 20]}
    assert _entry("coupon_type.changed").changes == {"category": ["", "cash"]}


def test_the_change_form_leaves_the_status_to_the_actions_that_ask_why(
    admin_client, added
):
    page = admin_client.get(reverse("admin:campaigns_campaign_change", args=[added.pk]))

    response = _edit(admin_client, added, status="paused")

    assert 'name="status"' not in page.content.decode()
    assert response.status_code == 302
    added.refresh_from_db()
    assert added.status == Campaign.Status.ACTIVE
    assert not AuditEntry.objects.exists()


def test_an_edit_that_changes_nothing_records_nothing(admin_client, added):
    response = _edit(admin_client, added)

    assert response.status_code == 302
    assert not AuditEntry.objects.exists()


def test_types_added_and_deleted_in_an_edit_are_recorded(
    admin_client, admin_user, added
):
    coupon_type = added.coupon_types.get()

    response = _edit(
        admin_client,
        added,
        **{
            "coupon_types-TOTAL_FORMS": "2",
            "coupon_types-0-DELETE": "on",
            "coupon_types-1-name": "Coffee",
            "coupon_types-1-benefit_kind": "free_item",
            "coupon_types-1-free_item": "A coffee",
            "coupon_types-1-probability": "0.1",
            "coupon_types-1-hold_seconds": "300",
            "coupon_types-1-valid_days": "30",
            "coupon_types-1-quota_shards": "1",
            "coupon_types-1-code_length": "10",
        },
    )

    assert response.status_code == 302, response.context["errors"]
    assert list(added.coupon_types.values_list("name", flat=True)) == ["Coffee"]
    assert _actions(acting_user=admin_user) == [
        "coupon_type.deleted",
        "coupon_type.created",
    ]
    deleted = _entry("coupon_type.deleted")
    assert deleted.target_id == str(coupon_type.pk)
    assert deleted.target_repr == "$2 Cash Coupon (Admin Draw)"
    assert deleted.changes["daily_quota"] == [10, None]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_that_fails_midway_leaves_no_change_and_no_row(
    admin_client, added, monkeypatch
):
    """The status change and its row were written when the types' save failed:
    the admin's transaction takes both back."""

    def fails(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "coupon_type_save", fails)

    with pytest.raises(RuntimeError):
        _edit(
            admin_client,
            added,
            status="paused",
            **{"coupon_types-0-probability": "0.25"},
        )

    added.refresh_from_db()
    assert added.status == Campaign.Status.ACTIVE
    assert not AuditEntry.objects.exists()


def test_a_refused_edit_records_nothing(admin_client, added):
    response = _edit(
        admin_client,
        added,
        status="paused",
        **{"coupon_types-0-probability": "1.5"},
    )

    assert response.status_code == 200  # the form again, with its errors
    added.refresh_from_db()
    assert added.status == Campaign.Status.ACTIVE
    assert not AuditEntry.objects.exists()


def test_an_edit_never_writes_back_the_quota_counters_it_read(
    admin_client, added, monkeypatch
):
    """A win between the admin reading the coupon type and saving it keeps its count."""
    coupon_type = added.coupon_types.get()
    update = services.campaign_update

    def a_win_lands_meanwhile(**kwargs):
        assert quota_take(coupon_type_id=coupon_type.pk, day=NOW.date())
        return update(**kwargs)

    monkeypatch.setattr(services, "campaign_update", a_win_lands_meanwhile)
    response = _edit(admin_client, added, **{"coupon_types-0-daily_quota": "20"})

    assert response.status_code == 302
    coupon_type.refresh_from_db()
    assert (coupon_type.daily_quota, coupon_type.issued_total) == (20, 1)
    assert coupon_type.issued_today == 1


# --- Status actions ------------------------------------------------------------------


def test_the_pause_action_asks_for_a_reason_then_records_who_and_why(
    admin_client, admin_user
):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    selection = {"action": "campaign_pause", "_selected_action": [campaign.pk]}

    ask = admin_client.post(LIST_URL, selection)
    unchanged_while_asking = Campaign.objects.get(pk=campaign.pk).status
    done = admin_client.post(LIST_URL, {**selection, "apply": "1", "reason": "fraud"})

    assert ask.status_code == 200
    assert 'name="reason"' in ask.content.decode()
    assert unchanged_while_asking == Campaign.Status.ACTIVE
    assert done.status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.PAUSED
    entry = _entry("campaign.status_changed")
    assert (entry.acting_user, entry.target, entry.reason, entry.changes) == (
        admin_user,
        campaign,
        "fraud",
        {"status": ["active", "paused"]},
    )


def test_no_reason_no_change(admin_client):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)

    response = admin_client.post(
        LIST_URL,
        {
            "action": "campaign_end",
            "_selected_action": [campaign.pk],
            "apply": "1",
            "reason": "",
        },
    )

    assert response.status_code == 200  # asked again
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.ACTIVE
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("action", "before", "after"),
    [
        ("campaign_activate", "paused", "active"),
        ("campaign_activate", "draft", "active"),
        ("campaign_end", "active", "ended"),
    ],
)
def test_activate_and_end(admin_client, action, before, after):
    campaign = CampaignFactory(status=before)

    admin_client.post(
        LIST_URL,
        {
            "action": action,
            "_selected_action": [campaign.pk],
            "apply": "1",
            "reason": "planned",
        },
    )

    campaign.refresh_from_db()
    assert campaign.status == after
    assert _entry("campaign.status_changed").changes == {"status": [before, after]}


def test_a_status_already_set_is_refused_and_recorded_nowhere(admin_client):
    paused = CampaignFactory(name="Paused one", status=Campaign.Status.PAUSED)
    active = CampaignFactory(name="Active one", status=Campaign.Status.ACTIVE)

    response = admin_client.post(
        LIST_URL,
        {
            "action": "campaign_pause",
            "_selected_action": [paused.pk, active.pk],
            "apply": "1",
            "reason": "stock",
        },
        follow=True,
    )

    messages = [str(m) for m in response.context["messages"]]
    assert any(
        "Paused one: The campaign already has this status." in m for m in messages
    )
    assert "Paused: 1; refused: 1." in messages
    assert [e.target for e in AuditEntry.objects.all()] == [active]


def test_a_status_change_drops_the_cached_campaign(
    admin_user, django_capture_on_commit_callbacks
):
    campaign = CampaignFactory(status=Campaign.Status.ACTIVE)
    assert campaign_by_slug(campaign.slug).status == Campaign.Status.ACTIVE

    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_status_set(
            campaign=campaign,
            status=Campaign.Status.PAUSED,
            acting_user=admin_user,
            reason="x",
        )

    local_clear()  # what another process would hold is the shared cache
    assert campaign_by_slug(campaign.slug).status == Campaign.Status.PAUSED


def test_staff_who_may_only_view_campaigns_get_no_status_actions(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    viewer = get_user_model().objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_campaign"))
    client.force_login(viewer)

    page = client.get(LIST_URL)

    assert page.status_code == 200
    form = page.context["action_form"]  # None: no action left at all
    choices = dict(form.fields["action"].choices) if form else {}
    assert not {"campaign_pause", "campaign_activate", "campaign_end"} & set(choices)


# --- Deletion ------------------------------------------------------------------------


def test_a_deleted_campaign_is_recorded_with_what_it_was(admin_client, admin_user):
    campaign = CampaignFactory(name="Mistake")

    response = admin_client.post(
        reverse("admin:campaigns_campaign_delete", args=[campaign.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Campaign.objects.exists()
    entry = _entry("campaign.deleted")
    assert (entry.acting_user, entry.target_repr) == (admin_user, "Mistake")
    assert entry.changes["name"] == ["Mistake", None]


def test_deleting_selected_campaigns_records_each(admin_client):
    one, two = CampaignFactory(), CampaignFactory()

    admin_client.post(
        LIST_URL,
        {
            "action": "delete_selected",
            "_selected_action": [one.pk, two.pk],
            "post": "yes",
        },
    )

    assert not Campaign.objects.exists()
    assert sorted(AuditEntry.objects.values_list("target_id", flat=True)) == sorted(
        [str(one.pk), str(two.pk)]
    )


def test_a_campaign_with_draws_is_not_deleted_and_nothing_is_recorded(admin_user):
    draw = DrawFactory()

    with pytest.raises(ProtectedError):
        services.campaign_delete(campaign=draw.campaign, acting_user=admin_user)

    assert Campaign.objects.filter(pk=draw.campaign_id).exists()
    assert not AuditEntry.objects.exists()


def test_a_coupon_type_with_coupons_is_not_deleted_and_nothing_is_recorded(admin_user):
    from vouchers.tests.factories import VoucherFactory

    coupon_type = VoucherFactory().coupon_type

    with pytest.raises(ProtectedError):
        services.coupon_type_delete(coupon_type=coupon_type, acting_user=admin_user)

    assert CouponType.objects.filter(pk=coupon_type.pk).exists()
    assert not AuditEntry.objects.exists()


def test_an_edit_spreads_a_quota_over_shards_and_refuses_one_below_the_issued(
    admin_client, admin_user, added
):
    # given: the type spread over 8 rows in the admin, then 7 units taken
    response = _edit(admin_client, added, **{"coupon_types-0-quota_shards": "8"})
    assert response.status_code == 302, response.context["errors"]
    coupon_type = added.coupon_types.get()
    assert coupon_type.quota_shard_rows.count() == 8
    assert _entry("coupon_type.quotas_changed").changes == {"quota_shards": [1, 8]}
    day = added.local_day()
    assert all(quota_take(coupon_type_id=coupon_type.pk, day=day) for _ in range(7))

    # when: staff lower the daily quota below the 7 issued today (on the shards)
    response = _edit(
        admin_client,
        added,
        **{"coupon_types-0-quota_shards": "8", "coupon_types-0-daily_quota": "5"},
    )

    # then: the form names the field; nothing changed
    assert response.status_code == 200
    assert "7 coupons were issued today" in str(response.context["errors"])
    assert CouponType.objects.get(pk=coupon_type.pk).daily_quota == 10
