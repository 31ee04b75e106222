"""Indexes for the back office's "Over time" charts: a campaign's redeemed
vouchers by ``used_at`` (redemptions) and by ``held_until`` (a claim
campaign's holds that ended redeemed), partial: only redeemed rows are in them,
so issuing, claiming and releasing coupons never write to them.

A plain ``CREATE INDEX``: it blocks writes to vouchers while it builds (see
draws 0005 for building it concurrently by hand on a large table).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("vouchers", "0005_voucher_void_rollback_permissions"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="voucher",
            index=models.Index(
                condition=models.Q(("status", "redeemed")),
                fields=["campaign", "used_at"],
                name="voucher_campaign_redeemed_at",
            ),
        ),
        migrations.AddIndex(
            model_name="voucher",
            index=models.Index(
                condition=models.Q(("status", "redeemed")),
                fields=["campaign", "held_until"],
                name="voucher_campaign_redeemed_hold",
            ),
        ),
    ]
