import math
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from couponsite.api.client_ip import client_ip
from couponsite.api.idempotency import (
    IDEMPOTENCY_ERRORS,
    IDEMPOTENCY_PARAMETER,
    idempotent,
)
from couponsite.api.permissions import IsCustomer, IsStaff, staff_with
from couponsite.api.schema import (
    AUTH_ERRORS,
    BODY_ERRORS,
    RATE_LIMITED,
    error_responses,
)
from couponsite.api.throttling import check_rate_limits
from couponsite.errors import NotFound
from customers import services
from customers.export import CustomerExportSerializer, customer_export
from customers.models import Customer
from customers.serializers import (
    BlockReasonSerializer,
    CustomerBlockSerializer,
    CustomerSerializer,
    CustomerUpdateSerializer,
    EmailVerifySerializer,
    ErasureSerializer,
    OtpRequestSerializer,
    OtpSentSerializer,
    SmsBudgetSerializer,
    TokenRequestSerializer,
    TokenSerializer,
)
from customers.services.sms_limits import hour_of, next_hour


class OtpRequestApi(APIView):
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        summary="Text a one-time sign-in code to a phone",
        request=OtpRequestSerializer,
        responses={
            202: OtpSentSerializer,
            **error_responses(
                *BODY_ERRORS,
                services.CountryNotAllowed,
                services.OtpResendTooSoon,
                services.PhonePrefixThrottled,
                services.SmsBudgetExhausted,
                RATE_LIMITED,
            ),
        },
    )
    def post(self, request):
        serializer = OtpRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        phone = serializer.validated_data["phone"]
        check_rate_limits([("otp_ip", client_ip(request)), ("otp_phone", phone)])
        challenge = services.otp_send(phone=phone)
        body = {
            "phone": phone,
            "expires_at": challenge.expires_at,
            "resend_after": challenge.sent_at
            + timedelta(seconds=settings.OTP_RESEND_SECONDS),
        }
        return Response(OtpSentSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class TokenApi(APIView):
    authentication_classes = []

    @extend_schema(
        tags=["auth"],
        summary="Exchange the code for an API token",
        description=(
            "The first sign-in with a phone creates the customer. The token works "
            "until `expires_at` (`TOKEN_TTL_SECONDS`, 30 days by default); then "
            "requests answer `401 TOKEN_EXPIRED` and the customer signs in again. "
            "A phone whose customer was erased (`DELETE /api/v1/me`) cannot sign "
            "up again for `ERASURE_SIGNIN_HOLD_SECONDS`: `403 PHONE_RECENTLY_ERASED`."
        ),
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            **error_responses(
                *BODY_ERRORS,
                services.OtpInvalid,
                services.OtpExpired,
                services.OtpAttemptsExceeded,
                services.PhoneRecentlyErased,
                RATE_LIMITED,
            ),
        },
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        check_rate_limits([("token_ip", client_ip(request))])
        token = services.otp_exchange(**serializer.validated_data)
        return Response(TokenSerializer(token).data)


# The proof of an erasure travels in a header: a DELETE has no body the OpenAPI
# 3.0 schema can describe (and some proxies drop one), and a query string would
# put the code in access logs.
ERASURE_CODE_HEADER = "Erasure-Code"
ERASURE_CODE_PARAMETER = OpenApiParameter(
    name=ERASURE_CODE_HEADER,
    location=OpenApiParameter.HEADER,
    required=True,
    type={"type": "string", "pattern": "^[0-9]{6}$"},
    description=(
        "A 6-digit sign-in code sent to the customer's own phone by "
        "`POST /api/v1/auth/otp`, unused and unexpired: proof the phone is theirs."
    ),
)


class MeApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        tags=["auth"],
        summary="The signed-in customer",
        responses={200: CustomerSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def get(self, request):
        return Response(CustomerSerializer(request.user).data)

    @extend_schema(
        tags=["auth"],
        summary="Change the signed-in customer's name, or ask to change their email",
        description=(
            "`name` changes at once. A new `email` does not: a 6-digit code is "
            "mailed to it and the answer is `202` with the address in "
            "`pending_email`; `POST /api/v1/me/email/verify` with the code makes it "
            "the customer's `email`, and only then do vouchers issued to it become "
            "theirs. The answer is the same whether or not another customer uses "
            "that email. Asking for the email one already has cancels a pending "
            "change; `email: null` removes it. Otherwise `200`."
        ),
        request=CustomerUpdateSerializer,
        responses={
            200: CustomerSerializer,
            202: CustomerSerializer,
            **error_responses(
                *BODY_ERRORS, *AUTH_ERRORS, services.EmailResendTooSoon, RATE_LIMITED
            ),
        },
    )
    def patch(self, request):
        serializer = CustomerUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        asked = changes.get("email")
        if asked:
            check_rate_limits(
                [
                    ("email_customer", f"customer:{request.user.pk}"),
                    ("email_ip", client_ip(request)),
                ]
            )
        customer = services.customer_update(customer=request.user, **changes)
        body = CustomerSerializer(customer).data
        started = asked is not None and body["pending_email"] == asked.lower()
        return Response(body, status=202 if started else 200)

    @extend_schema(
        tags=["auth"],
        summary="Erase the signed-in customer's personal data",
        description=(
            "Proof first: ask for a sign-in code to the customer's own phone "
            "(`POST /api/v1/auth/otp`) and send it in the `Erasure-Code` header, "
            "unused and unexpired (missing or not 6 digits: `400 VALIDATION_ERROR`); a "
            "wrong one counts against `OTP_MAX_ATTEMPTS` as at sign-in and changes "
            "nothing. Then, in one step: the phone becomes a placeholder nobody can "
            "sign in as, email and name are removed, every token of the customer is "
            "revoked (this one too: later requests answer `401`), their pending "
            "codes are deleted, messages to them are anonymised (unsent ones "
            "cancelled) and the email on their vouchers is removed. What counts "
            "for quotas and reports stays, linked to the anonymised customer: "
            "draws, claims, reservations, grabs and vouchers (a draw today still "
            "counts against today's quota). The same phone can sign up again, as "
            "a new customer with no history, only after "
            "`ERASURE_SIGNIN_HOLD_SECONDS` (2 days by default; "
            "`403 PHONE_RECENTLY_ERASED` until then). `204`, no body."
        ),
        request=None,
        parameters=[ERASURE_CODE_PARAMETER],
        responses={
            204: None,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                services.OtpInvalid,
                services.OtpExpired,
                services.OtpAttemptsExceeded,
                RATE_LIMITED,
            ),
        },
    )
    def delete(self, request):
        serializer = ErasureSerializer(
            data={"code": request.headers.get(ERASURE_CODE_HEADER)}
        )
        serializer.is_valid(raise_exception=True)
        # A guess at a code, like a sign-in's: the same budget per address.
        check_rate_limits([("token_ip", client_ip(request))])
        services.customer_erase(
            customer=request.user, code=serializer.validated_data["code"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailVerifyApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        tags=["auth"],
        summary="Prove the customer owns their pending email",
        description=(
            "With the code mailed by `PATCH /api/v1/me`, the pending email becomes "
            "the customer's `email`, and vouchers issued to it become theirs. "
            "`409 EMAIL_TAKEN` if another customer verified it meanwhile."
        ),
        request=EmailVerifySerializer,
        responses={
            200: CustomerSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                services.EmailCodeInvalid,
                services.EmailCodeExpired,
                services.EmailCodeAttemptsExceeded,
                services.EmailTaken,
            ),
        },
    )
    def post(self, request):
        serializer = EmailVerifySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = services.email_verify(
            customer=request.user, code=serializer.validated_data["code"]
        )
        return Response(CustomerSerializer(customer).data)


class MeExportApi(APIView):
    permission_classes = [IsCustomer]

    @extend_schema(
        tags=["auth"],
        summary="Everything kept about the signed-in customer",
        description=(
            "One JSON document: the profile, emails, sign-ins (when, until when, "
            "revoked; no client address is kept), the last sign-in code's "
            "timestamps, vouchers and their history, draws, claims, rush "
            "reservations and grabs, and the texts and emails sent to the "
            "customer's phone and verified email. No token, code or code hash is ever in it: the bodies of "
            "sign-in and email code messages are masked. Rate limited "
            "(`RATE_LIMIT_EXPORT_CUSTOMER`, `RATE_LIMIT_EXPORT_IP`); answered "
            "with `Cache-Control: no-store`."
        ),
        responses={
            200: CustomerExportSerializer,
            **error_responses(*AUTH_ERRORS, RATE_LIMITED),
        },
    )
    def get(self, request):
        check_rate_limits(
            [
                ("export_customer", f"customer:{request.user.pk}"),
                ("export_ip", client_ip(request)),
            ]
        )
        return Response(
            customer_export(request.user), headers={"Cache-Control": "no-store"}
        )


class CustomerNotFound(NotFound):
    detail = _("No customer with this id.")


_ID_MAX = 2**63 - 1  # a bigint: a larger id names no customer

# What the admin asks for its Block / Unblock button and actions.
BLOCK_CUSTOMER = "customers.block_customer"


def _customer(customer_id: int) -> Customer:
    customer = (
        Customer.objects.filter(pk=customer_id).first()
        if customer_id <= _ID_MAX
        else None
    )
    if customer is None:
        raise CustomerNotFound()
    return customer


def _block_schema(*, blocking: bool):
    verb = "Block" if blocking else "Unblock"
    description = (
        (
            "The customer may no longer take part: their draws, claims, "
            "reservations and grabs answer `403 CUSTOMER_BLOCKED` (they may "
            "still sign in, read their account and redeem vouchers they hold). "
            "Already blocked: `409 STATUS_UNCHANGED`."
        )
        if blocking
        else ("The customer may take part again. Not blocked: `409 STATUS_UNCHANGED`.")
    )
    return extend_schema(
        tags=["customers"],
        summary=f"{verb} a customer (staff)",
        description=(
            f"{description} The `reason` and the staff user of the token are "
            "recorded in the audit log. Needs the `customers.block_customer` "
            "permission, as the back office's button does (`403 "
            "PERMISSION_DENIED` without it). An erased customer changes no more: "
            "`409 CUSTOMER_ERASED`. Answers the customer's block state."
        ),
        request=BlockReasonSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={
            200: CustomerBlockSerializer,
            **error_responses(
                *BODY_ERRORS,
                *AUTH_ERRORS,
                CustomerNotFound,
                services.BlockUnchanged,
                services.CustomerAlreadyErased,
                *IDEMPOTENCY_ERRORS,
            ),
        },
    )


class _CustomerBlockChange(APIView):
    permission_classes = [staff_with(BLOCK_CUSTOMER)]

    def _post(self, request, customer_id: int):
        customer = _customer(customer_id)
        serializer = BlockReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = self.change(
            customer=customer,
            acting_user=request.user,
            reason=serializer.validated_data["reason"],
        )
        return Response(CustomerBlockSerializer(customer).data)


class CustomerBlockApi(_CustomerBlockChange):
    change = staticmethod(services.customer_block)

    @_block_schema(blocking=True)
    @idempotent
    def post(self, request, customer_id: int):
        return self._post(request, customer_id)


class CustomerUnblockApi(_CustomerBlockChange):
    change = staticmethod(services.customer_unblock)

    @_block_schema(blocking=False)
    @idempotent
    def post(self, request, customer_id: int):
        return self._post(request, customer_id)


class SmsBudgetApi(APIView):
    permission_classes = [IsStaff]

    @extend_schema(
        tags=["customers"],
        summary="This hour's sign-in texts against the SMS budget (staff)",
        description=(
            "What the back office's start page shows as its alarm: sign-in texts "
            "sent site-wide in this clock hour (UTC), `SMS_HOURLY_BUDGET`, the "
            "percent spent, whether the alarm is on (at `SMS_BUDGET_WARN_PERCENT`) "
            "and whether codes are being refused (`SMS_BUDGET_EXHAUSTED`), and the "
            "seconds until the count starts again. Changes nothing."
        ),
        responses={200: SmsBudgetSerializer, **error_responses(*AUTH_ERRORS)},
    )
    def get(self, request):
        now = timezone.now()
        state = services.sms_budget_state(now)
        hour = hour_of(now)
        wait = math.ceil((next_hour(now) - now).total_seconds())
        body = {
            "hour": hour,
            "sent": state.sent if state else 0,
            "refused": state.refused if state else 0,
            "budget": state.budget if state else None,
            "percent": state.percent if state else None,
            "warn_percent": settings.SMS_BUDGET_WARN_PERCENT,
            "alarm": state.alarm if state else False,
            "exhausted": state.exhausted if state else False,
            "seconds_to_next_hour": max(1, wait),
        }
        return Response(SmsBudgetSerializer(body).data)
