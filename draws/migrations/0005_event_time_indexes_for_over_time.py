"""Indexes for the back office's "Over time" charts: each mode's events by
campaign and time (and a claim's hold by when it ends).

A plain ``CREATE INDEX`` (not ``CONCURRENTLY``, which SQLite lacks): it blocks
writes to each table while it builds. On a large production table, build the
index by hand with ``CREATE INDEX CONCURRENTLY`` under the same name first;
then this migration fails on the existing name, so fake it
(``migrate draws 0005 --fake``).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("draws", "0004_release_moves_to_draws"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["campaign", "created_at"], name="claim_campaign_time"
            ),
        ),
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=["campaign", "held_until"], name="claim_campaign_hold_end"
            ),
        ),
        migrations.AddIndex(
            model_name="draw",
            index=models.Index(
                fields=["campaign", "created_at", "won"], name="draw_campaign_time"
            ),
        ),
        migrations.AddIndex(
            model_name="grab",
            index=models.Index(
                fields=["campaign", "created_at"], name="grab_campaign_time"
            ),
        ),
        migrations.AddIndex(
            model_name="reservation",
            index=models.Index(
                fields=["campaign", "created_at"], name="reservation_campaign_time"
            ),
        ),
    ]
