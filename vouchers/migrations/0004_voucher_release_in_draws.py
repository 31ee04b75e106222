"""The voucher's batch now points at ``draws.Release`` (state only: same table)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("draws", "0004_release_moves_to_draws"),
        ("vouchers", "0003_voucher_hold_deadline_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="voucher",
                    name="release",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="vouchers",
                        to="draws.release",
                    ),
                ),
            ],
            database_operations=[],
        ),
    ]
