"""Erasure: the anonymised row keeps counting; Support may erase (couponsite.roles)."""

from django.db import migrations, models

import customers.phones
from couponsite.roles import roles_sync_in_migration


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_email_verification"),
        ("couponsite", "0005_back_office_roles"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="customer",
            options={
                "permissions": [
                    ("erase_customer", "Can erase a customer's personal data")
                ]
            },
        ),
        migrations.AddField(
            model_name="customer",
            name="erased_at",
            field=models.DateTimeField(
                blank=True,
                help_text="When their personal data was erased (the row is kept, anonymised).",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="erased_phone_hash",
            field=models.CharField(
                blank=True, db_index=True, editable=False, max_length=64
            ),
        ),
        migrations.AlterField(
            model_name="customer",
            name="phone",
            field=models.CharField(
                max_length=32,
                unique=True,
                validators=[customers.phones.validate_e164],
            ),
        ),
        # Support erases customers on request (couponsite.roles).
        migrations.RunPython(roles_sync_in_migration, migrations.RunPython.noop),
    ]
