"""Who may call what: customers act on their own things, staff run the shop."""

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission


def is_customer(user) -> bool:
    # By name from settings, like AUTH_USER_MODEL: couponsite imports no app.
    return isinstance(user, apps.get_model(settings.CUSTOMER_MODEL))


def is_staff(user) -> bool:
    return isinstance(user, get_user_model()) and user.is_active and user.is_staff


class IsCustomer(BasePermission):
    message = _("Only a signed-in customer may do this.")

    def has_permission(self, request, view) -> bool:
        return is_customer(request.user)


class IsStaff(BasePermission):
    message = _("Only staff may do this.")

    def has_permission(self, request, view) -> bool:
        return is_staff(request.user)


class IsCustomerOrStaff(BasePermission):
    message = _("Sign in as a customer or with a staff token.")

    def has_permission(self, request, view) -> bool:
        return is_customer(request.user) or is_staff(request.user)


def staff_with(permission: str) -> type[BasePermission]:
    """Staff who hold ``permission`` (``"app_label.codename"``), as the admin
    asks for the same action: the API opens no more than the back office."""

    class StaffWith(IsStaff):
        @property
        def message(self) -> str:  # read by DRF per refused request
            return gettext(
                "Only staff with the %(permission)s permission may do this."
            ) % {"permission": permission}

        def has_permission(self, request, view) -> bool:
            return super().has_permission(request, view) and request.user.has_perm(
                permission
            )

    StaffWith.__name__ = StaffWith.__qualname__ = f"StaffWith({permission})"
    return StaffWith
