"""The audit log: one row per back-office action, in the action's transaction, shown
read-only in the admin."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory
from couponsite.audit import (
    AuditOutsideTransaction,
    audit_record,
    changes_between,
    changes_split,
    field_values,
)
from couponsite.models import AuditEntry
from customers.models import OneTimeCode


@pytest.mark.django_db
def test_a_row_names_who_what_which_object_why_and_the_changes(admin_user):
    campaign = CampaignFactory(name="Spring draw")

    entry = audit_record(
        acting_user=admin_user,
        action="campaign.status_changed",
        target=campaign,
        reason="supplier late",
        changes={"status": ["active", "paused"]},
    )

    entry.refresh_from_db()
    assert entry.acting_user == admin_user
    assert entry.action == "campaign.status_changed"
    assert entry.target == campaign
    assert (entry.target_type, entry.target_id, entry.target_repr) == (
        ContentType.objects.get_for_model(Campaign),
        str(campaign.pk),
        "Spring draw",
    )
    assert (entry.reason, entry.changes) == (
        "supplier late",
        {"status": ["active", "paused"]},
    )


@pytest.mark.django_db
def test_the_row_outlives_its_target_by_its_name(admin_user):
    campaign = CampaignFactory(name="Gone soon")
    audit_record(acting_user=admin_user, action="campaign.deleted", target=campaign)

    campaign.delete()

    entry = AuditEntry.objects.get()
    assert entry.target is None
    assert entry.target_repr == "Gone soon"


@pytest.mark.django_db
def test_the_target_is_named_in_the_sites_language_whatever_the_employee_reads(
    admin_user,
):
    """One log, searchable by one name: an employee reading Chinese records the
    target under its English name (LANGUAGE_CODE)."""
    code = OneTimeCode.objects.create(
        phone="+14155550100",
        code_hash="x",
        sent_at=dt.datetime(2026, 5, 1, tzinfo=dt.UTC),
        expires_at=dt.datetime(2026, 5, 1, 0, 5, tzinfo=dt.UTC),
    )

    with translation.override("zh-hant"), transaction.atomic():
        in_chinese = str(code)
        entry = audit_record(acting_user=admin_user, action="code.deleted", target=code)

    assert entry.target_repr == "code for +14155550100 sent 2026-05-01 00:00:00"
    assert in_chinese != entry.target_repr


@pytest.mark.django_db
def test_values_of_any_type_are_stored_as_json(admin_user):
    campaign = CampaignFactory()
    changes = changes_between({}, field_values(campaign))

    audit_record(
        acting_user=admin_user,
        action="campaign.created",
        target=campaign,
        changes=changes,
    )

    stored = AuditEntry.objects.get().changes
    assert stored["name"] == [None, campaign.name]
    assert stored["starts_at"][1].startswith(str(campaign.starts_at.year))
    assert stored["ratio"] == [None, "0.2"]
    assert stored["reservation_opens"] == [None, "22:55:00"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_outside_a_transaction_is_refused(admin_user):
    campaign = CampaignFactory()

    with pytest.raises(AuditOutsideTransaction):
        audit_record(acting_user=admin_user, action="campaign.changed", target=campaign)

    assert not AuditEntry.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_row_rolls_back_with_its_action(admin_user):
    campaign = CampaignFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(acting_user=admin_user, action="campaign.changed", target=campaign)
        raise RuntimeError("the action failed after recording")

    assert not AuditEntry.objects.exists()


def test_changes_list_the_fields_that_differ_old_and_new():
    before = {"name": "A", "ratio": Decimal("0.2000"), "note": ""}
    after = {"name": "B", "ratio": Decimal("0.2"), "note": ""}

    assert changes_between(before, after) == {"name": ["A", "B"]}


def test_a_new_object_lists_its_set_fields_and_a_deleted_one_what_it_had():
    values = {"name": "A", "note": "", "quota": None, "day": dt.date(2027, 1, 1)}

    assert changes_between({}, values) == {
        "name": [None, "A"],
        "day": [None, dt.date(2027, 1, 1)],
    }
    assert changes_between(values, {}) == {
        "name": ["A", None],
        "day": [dt.date(2027, 1, 1), None],
    }


def test_changes_split_under_the_action_naming_them():
    changes = {"probability": ["0.1", "0.2"], "daily_quota": [5, 6], "name": ["A", "B"]}

    split = changes_split(
        changes,
        {
            "coupon_type.odds_changed": {"probability"},
            "coupon_type.quotas_changed": {"total_quota", "daily_quota"},
        },
        "coupon_type.changed",
    )

    assert split == {
        "coupon_type.odds_changed": {"probability": ["0.1", "0.2"]},
        "coupon_type.quotas_changed": {"daily_quota": [5, 6]},
        "coupon_type.changed": {"name": ["A", "B"]},
    }


# --- The admin page ------------------------------------------------------------------


@pytest.fixture
def log(db, admin_user):
    other = get_user_model().objects.create_user("clerk", is_staff=True)
    spring, autumn = CampaignFactory(name="Spring"), CampaignFactory(name="Autumn")
    with transaction.atomic():
        audit_record(acting_user=admin_user, action="campaign.created", target=spring)
        audit_record(acting_user=other, action="campaign.created", target=autumn)
        audit_record(
            acting_user=other,
            action="campaign.status_changed",
            target=spring,
            reason="sold out",
        )
        audit_record(acting_user=None, action="campaign.changed", target=autumn)
    return {"admin": admin_user, "other": other, "spring": spring}


def _listed(response) -> list[tuple[str, str]]:
    assert response.status_code == 200
    return [(e.action, e.target_repr) for e in response.context["cl"].result_list]


def test_the_log_filters_by_action_and_user_and_searches_targets(admin_client, log):
    url = reverse("admin:couponsite_auditentry_changelist")

    everything = _listed(admin_client.get(url))
    by_action = _listed(admin_client.get(url, {"action": "campaign.created"}))
    by_user = _listed(
        admin_client.get(url, {"acting_user__id__exact": log["other"].pk})
    )
    by_target = _listed(admin_client.get(url, {"q": "spring"}))

    assert len(everything) == 4
    assert sorted(by_action) == [
        ("campaign.created", "Autumn"),
        ("campaign.created", "Spring"),
    ]
    assert sorted(by_user) == [
        ("campaign.created", "Autumn"),
        ("campaign.status_changed", "Spring"),
    ]
    assert sorted(by_target) == [
        ("campaign.created", "Spring"),
        ("campaign.status_changed", "Spring"),
    ]
    assert "(no user: a command)" in admin_client.get(url).content.decode()


def test_the_log_is_read_only(admin_client, log):
    entry = AuditEntry.objects.filter(action="campaign.status_changed").get()
    change_url = reverse("admin:couponsite_auditentry_change", args=[entry.pk])

    page = admin_client.get(change_url)
    edit = admin_client.post(change_url, {"reason": "rewritten"})
    add = admin_client.get(reverse("admin:couponsite_auditentry_add"))
    delete = admin_client.get(
        reverse("admin:couponsite_auditentry_delete", args=[entry.pk])
    )

    assert page.status_code == 200
    assert "sold out" in page.content.decode()
    assert 'name="_save"' not in page.content.decode()
    assert (edit.status_code, add.status_code, delete.status_code) == (403, 403, 403)
    entry.refresh_from_db()
    assert entry.reason == "sold out"
