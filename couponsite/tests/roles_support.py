"""Staff users in the back office's roles (couponsite.roles), for tests."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from couponsite.roles import roles_sync


def staff_in(role: str, username: str | None = None):
    """A staff user (password "pw") in ``role``'s group. The groups are made again
    if missing: a transactional test before this one emptied the tables."""
    if not Group.objects.filter(name=role).exists():
        roles_sync()
    user = get_user_model().objects.create_user(
        username=username or role.lower().replace(" ", "-"),
        password="pw",
        is_staff=True,
    )
    user.groups.add(Group.objects.get(name=role))
    return user
