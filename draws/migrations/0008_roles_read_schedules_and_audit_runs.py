"""Campaign managers and analysts read release schedules, their runs and the
invariant audit's runs (couponsite.roles)."""

from django.db import migrations

from couponsite.roles import roles_sync_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("draws", "0007_release_schedules"),
        ("couponsite", "0006_job_runs"),
        ("messaging", "0002_support_resends_messages"),
        ("webhooks", "0002_webhooks_for_campaign_managers"),
    ]

    operations = [
        migrations.RunPython(roles_sync_in_migration, migrations.RunPython.noop)
    ]
