"""Views that exist only for tests of the shared plumbing."""

import time

from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from couponsite.api.idempotency import idempotent
from couponsite.api.permissions import IsCustomer
from couponsite.api.throttling import CustomerAndAddressThrottle
from couponsite.errors import DomainError
from customers.services import token_create


class Refused(DomainError):
    """A test-only refusal; tests that raise it give its code a status."""

    code = "REFUSED_FOR_TEST"


class IdempotentEffectApi(APIView):
    """Each effect makes one token for the caller; ``sleep`` widens the race."""

    permission_classes = [IsCustomer]

    @idempotent
    def post(self, request):
        time.sleep(float(request.data.get("sleep", 0)))
        if request.data.get("refuse"):
            raise Refused()
        if request.data.get("crash"):
            raise RuntimeError("boom")
        token = token_create(customer=request.user, name="effect")
        return Response({"token_id": token.pk}, status=status.HTTP_201_CREATED)


class ThrottledApi(APIView):
    """Open to all, so a 100-thread race needs no database connection per thread."""

    throttle_classes = [CustomerAndAddressThrottle]
    throttle_scope = "test"

    def post(self, request):
        return Response({"ok": True})


class CrashApi(APIView):
    def get(self, request):
        raise RuntimeError("boom")
