"""Campaign managers and analysts read release schedules, their runs and the
invariant audit's runs (couponsite.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from couponsite.roles import roles_sync


def sync_roles(apps, schema_editor):
    # Django makes permissions after all migrations (post_migrate): make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("draws", "0007_release_schedules"),
        ("couponsite", "0006_job_runs"),
        ("messaging", "0002_support_resends_messages"),
        ("webhooks", "0002_webhooks_for_campaign_managers"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
