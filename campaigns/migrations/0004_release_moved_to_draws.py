"""``Release`` now lives in draws (``draws.0004``); only the state forgets it here.

The table ``campaigns_release`` is kept as it is, under the draws model.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_coupon_type_valid_days_bounded"),
        ("draws", "0004_release_moves_to_draws"),
        ("vouchers", "0004_voucher_release_in_draws"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Release")],
            database_operations=[],
        ),
    ]
