"""Blocking has its own permission, which Support holds (couponsite.roles)."""

from django.db import migrations

from couponsite.roles import roles_sync_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0005_customer_blocking_sms_counts"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="customer",
            options={
                "permissions": [
                    ("erase_customer", "Can erase a customer's personal data"),
                    (
                        "block_customer",
                        "Can block or unblock a customer from taking part",
                    ),
                ]
            },
        ),
        # Support blocks and unblocks customers (couponsite.roles).
        migrations.RunPython(roles_sync_in_migration, migrations.RunPython.noop),
    ]
