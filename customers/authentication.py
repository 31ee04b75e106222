from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from customers.models import ApiToken


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` for customers and staff alike.

    ``request.user`` becomes the ``Customer`` or the staff ``User``.
    """

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(_("Use 'Authorization: Bearer <token>'."))
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed(_("Invalid token.")) from None
        token = (
            ApiToken.objects.active()
            .select_related("customer", "user")
            .filter(digest=ApiToken.digest_of(raw))
            .first()
        )
        if token is None or not token.owner.is_active:
            raise AuthenticationFailed(_("Invalid or revoked token."))
        if token.user_id and not token.user.is_staff:
            raise AuthenticationFailed(_("This token's user is no longer staff."))
        return token.owner, token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
