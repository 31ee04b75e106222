"""Admin tests as a staff member who holds only some permissions."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client


def staff_client(*permissions: str, username: str = "clerk") -> Client:
    """A logged-in client of a staff user (not a superuser) holding exactly
    ``permissions``, given as ``"app_label.codename"``."""
    user = get_user_model().objects.create_user(
        username=username, password="unused", is_staff=True
    )
    for permission in permissions:
        app_label, codename = permission.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    client = Client()
    client.force_login(user)
    client.user = user
    return client
