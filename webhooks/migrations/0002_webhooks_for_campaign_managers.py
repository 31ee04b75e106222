"""Campaign managers manage webhook endpoints and the delivery log (couponsite.roles)."""

from django.db import migrations

from couponsite.roles import roles_sync


def sync_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Django makes permissions after all migrations (post_migrate): make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_webhooks"),
        ("couponsite", "0005_back_office_roles"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
