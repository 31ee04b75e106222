"""Campaign managers manage webhook endpoints and the delivery log (couponsite.roles)."""

from django.db import migrations

from couponsite.roles import roles_sync_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_webhooks"),
        ("couponsite", "0005_back_office_roles"),
    ]

    operations = [
        migrations.RunPython(roles_sync_in_migration, migrations.RunPython.noop)
    ]
