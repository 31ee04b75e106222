"""Bound a coupon type's ``valid_days`` (3,000,000 days overflowed every win's expiry).

Rows already past the bound could never issue a coupon (the expiry overflowed);
they are brought down to it before the check constraint is added.
"""

import django.core.validators
from django.db import migrations, models

MAX_VALID_DAYS = 3650


def clamp_valid_days(apps, schema_editor):
    CouponType = apps.get_model("campaigns", "CouponType")
    CouponType.objects.filter(valid_days__gt=MAX_VALID_DAYS).update(
        valid_days=MAX_VALID_DAYS
    )


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0002_coupon_type_code_length"),
    ]

    operations = [
        migrations.RunPython(clamp_valid_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="coupontype",
            name="valid_days",
            field=models.PositiveIntegerField(
                default=30,
                help_text=(
                    "A coupon is valid this many days after it is issued "
                    "(at most 3,650)."
                ),
                validators=[django.core.validators.MaxValueValidator(3650)],
            ),
        ),
        migrations.AddConstraint(
            model_name="coupontype",
            constraint=models.CheckConstraint(
                condition=models.Q(("valid_days__lte", 3650)),
                name="coupon_type_valid_days_bounded",
                violation_error_message="A coupon may be valid 3,650 days at most.",
            ),
        ),
    ]
