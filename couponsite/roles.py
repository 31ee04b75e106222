"""The back office's roles: Django groups with the permissions each role needs.

Made by a data migration (``couponsite/migrations/0005_back_office_roles``),
which calls ``roles_sync``; a later change to ``ROLES`` ships with a migration
calling it again. Staff are put in a group on their user page. What each
permission opens (docs/back-office.md, "Roles"):

- ``campaigns.add/change/delete_campaign`` and ``_coupontype``: the campaign
  form, its odds and quotas, and the status actions (activate, pause, end).
- ``draws.add_release``: releasing coupons of a claim campaign (and again).
- ``vouchers.void_voucher``, ``vouchers.rollback_voucher``: those two actions.
- ``vouchers.add_voucher``: generating vouchers from a CSV of emails.
- ``couponsite.export_csv``: every "Export … as CSV" action.
- ``messaging.resend_message``: "send again" on a failed message (Support).
- ``customers.erase_customer``: "Erase this customer" on a customer's page
  (Support; superusers too).
- ``customers.block_customer``: Block / Unblock a customer, in the admin and
  the staff API (Support; superusers too).
- ``webhooks.*``: the webhook endpoints (add, change, delete, roll their
  secret) and the delivery log (read, send again): Campaign managers only.
- ``view_*``: reading a list and its rows.
"""

from django.apps import apps as global_apps

CAMPAIGN_MANAGER = "Campaign manager"
SUPPORT = "Support"
ANALYST = "Analyst"

# Every model staff read in the admin, as "<app_label>.<model_name>".
_READABLE = [
    "campaigns.campaign",
    "campaigns.coupontype",
    "customers.customer",
    "vouchers.offer",
    "vouchers.voucher",
    "vouchers.voucherevent",
    "draws.draw",
    "draws.claim",
    "draws.release",
    "draws.rushday",
    "draws.reservation",
    "draws.grab",
    "draws.releaseschedule",
    "draws.releaseschedulerun",
    "draws.auditrun",
    "couponsite.auditentry",
    "messaging.message",
]
# What campaign managers do not read: who customers are and what we sent them.
_CUSTOMERS_OWN = {"customers.customer", "messaging.message"}


def _view(*models: str) -> list[str]:
    return [f"{model.split('.')[0]}.view_{model.split('.')[1]}" for model in models]


def _edit(model: str) -> list[str]:
    app, name = model.split(".")
    return [f"{app}.{verb}_{name}" for verb in ("add", "change", "delete", "view")]


ROLES: dict[str, list[str]] = {
    CAMPAIGN_MANAGER: [
        *_edit("campaigns.campaign"),
        *_edit("campaigns.coupontype"),
        "draws.add_release",
        "vouchers.add_offer",
        "vouchers.change_offer",
        "vouchers.add_voucher",
        "vouchers.void_voucher",
        *_view(*(m for m in _READABLE if m not in _CUSTOMERS_OWN)),
        *_edit("webhooks.endpoint"),
        "webhooks.roll_secret_endpoint",
        *_view("webhooks.event", "webhooks.delivery", "webhooks.attempt"),
        "webhooks.send_again_delivery",
    ],
    SUPPORT: [
        "customers.erase_customer",
        "customers.block_customer",
        "vouchers.void_voucher",
        "vouchers.rollback_voucher",
        "messaging.resend_message",
        *_view(
            "customers.customer",
            "messaging.message",
            "vouchers.offer",
            "vouchers.voucher",
            "vouchers.voucherevent",
            "draws.draw",
            "draws.claim",
            "draws.grab",
        ),
    ],
    ANALYST: ["couponsite.export_csv", *_view(*_READABLE)],
}


def _migrated(apps, app_label: str) -> bool:
    try:
        return any(apps.get_app_config(app_label).get_models())
    except LookupError:  # a migration's apps hold only the apps migrated so far
        return False


def roles_sync(apps=global_apps) -> None:
    """Make each role's group (if missing) and give it exactly its permissions.
    ``apps``: a migration's historical apps, or the project's. A permission of
    a model not migrated yet is left for a later migration, which calls this
    again (``messaging/migrations/0002_…``, ``draws/migrations/0008_…``);
    ``test_the_migration_made_the_roles_with_their_permissions`` checks that
    in the end every role has every permission it names."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, permissions in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        found = []
        for permission in permissions:
            app_label, codename = permission.split(".")
            if not _migrated(apps, app_label):
                continue
            match = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if match is not None:
                found.append(match)
        group.permissions.set(found)


def roles_sync_in_migration(apps, schema_editor) -> None:
    """``roles_sync`` as a data migration's step (``RunPython``): Django makes
    permissions after all migrations (post_migrate), so make the migrated
    models' permissions now, then give each role its own."""
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)
