"""``Release`` moves from campaigns to draws (``draws.pool``); its table stays.

State only: the model is created here over the existing ``campaigns_release``
table, and the rush day's one-to-one follows it. ``vouchers.0004`` moves the
voucher's foreign key, ``campaigns.0004`` drops the old model from the state.
The content type is renamed, so the permissions granted on releases (and the
admin's history of them) carry over.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor, old="campaigns", new="draws"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    if (
        not ContentType.objects.using(db)
        .filter(app_label=new, model="release")
        .exists()
    ):
        ContentType.objects.using(db).filter(app_label=old, model="release").update(
            app_label=new
        )


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, old="draws", new="campaigns")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_coupon_type_valid_days_bounded"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("draws", "0003_rush_days_reservations_grabs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Release",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("count", models.PositiveIntegerField()),
                        ("note", models.CharField(blank=True, max_length=200)),
                        (
                            "created_at",
                            models.DateTimeField(default=django.utils.timezone.now),
                        ),
                        (
                            "coupon_type",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="releases",
                                to="campaigns.coupontype",
                            ),
                        ),
                        (
                            "released_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "campaigns_release",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.AlterField(
                    model_name="rushday",
                    name="release",
                    field=models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="rush_day",
                        to="draws.release",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
