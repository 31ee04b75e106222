"""The back office's roles as groups (couponsite.roles): Campaign manager, Support,
Analyst."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from couponsite.roles import ROLES, roles_sync


def make_roles(apps, schema_editor):
    # Django makes permissions after all migrations (post_migrate): make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_sync(apps)


def drop_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("couponsite", "0004_back_office_permissions"),
        ("campaigns", "0004_release_moved_to_draws"),
        ("customers", "0003_email_verification"),
        ("vouchers", "0005_voucher_void_rollback_permissions"),
        ("draws", "0004_release_moves_to_draws"),
    ]

    operations = [migrations.RunPython(make_roles, drop_roles)]
