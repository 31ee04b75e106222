"""Support reads messages and sends a failed one again; analysts read them
(couponsite.roles)."""

from django.db import migrations

from couponsite.roles import roles_sync_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0001_messages"),
        ("couponsite", "0005_back_office_roles"),
    ]

    operations = [
        migrations.RunPython(roles_sync_in_migration, migrations.RunPython.noop)
    ]
