"""Every API token gets an end (``expires_at``).

Tokens made before this migration get the lifetime of their kind counted from
the upgrade, not from their creation, so upgrading logs nobody out at once.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def give_existing_tokens_an_end(apps, schema_editor):
    ApiToken = apps.get_model("customers", "ApiToken")
    now = timezone.now()
    ApiToken.objects.filter(customer__isnull=False).update(
        expires_at=now + timedelta(seconds=settings.TOKEN_TTL_SECONDS)
    )
    ApiToken.objects.filter(customer__isnull=True).update(
        expires_at=now + timedelta(seconds=settings.STAFF_TOKEN_TTL_SECONDS)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_customers_codes_tokens"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(
                help_text="The token is refused from then on.", null=True
            ),
        ),
        migrations.RunPython(give_existing_tokens_an_end, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(help_text="The token is refused from then on."),
        ),
    ]
