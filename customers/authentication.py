from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from customers.models import ApiToken

# Who a token belongs to is asked on every request; the answer is cached (Redis, or
# the local cache) and dropped by ``customers.signals`` whenever the token, its
# customer or its user changes, so a revoked token stops working at once.
TOKEN_CACHE_SECONDS = 300


def token_cache_key(digest: str) -> str:
    return f"token:{digest}"


def _owner_of(digest: str):
    key = token_cache_key(digest)
    cached = cache.get(key)
    if cached is not None:
        return cached or None  # False: known not to be a valid token
    token = (
        ApiToken.objects.active()
        .select_related("customer", "user")
        .filter(digest=digest)
        .first()
    )
    owner = token.owner if token is not None else None
    valid = (
        owner is not None and owner.is_active and (token.customer_id or owner.is_staff)
    )
    cache.set(key, owner if valid else False, TOKEN_CACHE_SECONDS)
    return owner if valid else None


class BearerAuthentication(BaseAuthentication):
    """``Authorization: Bearer <token>`` for customers and staff alike.

    ``request.user`` becomes the ``Customer`` or the staff ``User``; a token of a
    deactivated customer, or of a user who is no longer staff, is refused.
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
        owner = _owner_of(ApiToken.digest_of(raw))
        if owner is None:
            raise AuthenticationFailed(_("Invalid, revoked or no longer valid token."))
        return owner, None

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
