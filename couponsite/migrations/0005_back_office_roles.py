"""The back office's roles as groups (couponsite.roles): Campaign manager, Support,
Analyst."""

from django.db import migrations

from couponsite.roles import ROLES, roles_sync_in_migration


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

    operations = [migrations.RunPython(roles_sync_in_migration, drop_roles)]
