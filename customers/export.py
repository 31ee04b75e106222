"""Everything kept about a customer, as one JSON document (``GET /api/v1/me/export``).

What a customer did (vouchers, draws, claims, reservations, grabs) belongs to
the apps above this one, which customers must not import. So, like the story
panels of their admin page (``CustomerAdmin.add_story_panel``), each app hands
its part over at start-up, in its ``AppConfig.ready``: ``register_export_part``
with a name, the serializer of one row (the schema's description of that part)
and a function reading the customer's rows. This app registers the parts it
keeps itself: the profile, emails, sign-ins, sign-in codes and messages sent.

Every part is one query (or two), whatever the number of rows: a part's reader
selects what its serializer follows (a test counts them). Nothing secret is
exported: no token (not even its prefix), no code or code hash; the bodies of
sign-in and email code messages are masked like the back office shows them.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone
from rest_framework import serializers

from customers.models import ApiToken, Customer, EmailVerification, OneTimeCode
from messaging.models import Message


@dataclass(frozen=True)
class ExportPart:
    """One key of the export: ``rows(customer)`` shown with ``serializer``
    (a list of rows when ``many``, else one object); keys in ``position`` order."""

    name: str
    serializer: type[serializers.Serializer]
    rows: Callable[[Customer], object]
    many: bool = True
    position: int = 50
    description: str = ""


_PARTS: dict[str, ExportPart] = {}


def register_export_part(
    name: str,
    *,
    serializer: type[serializers.Serializer],
    rows: Callable[[Customer], object],
    many: bool = True,
    position: int = 50,
    description: str = "",
) -> None:
    """Add (or replace, by ``name``) a part of every customer's export."""
    _PARTS[name] = ExportPart(
        name=name,
        serializer=serializer,
        rows=rows,
        many=many,
        position=position,
        description=description,
    )


def export_parts() -> list[ExportPart]:
    return sorted(_PARTS.values(), key=lambda part: (part.position, part.name))


class CustomerExportSerializer(serializers.Serializer):
    """Everything kept about the customer, one key per kind of record."""

    # Its fields are the registered parts, read when the serializer is used
    # (after every app is ready), so the schema lists exactly what is answered.

    exported_at = serializers.DateTimeField(read_only=True)

    def get_fields(self):
        fields = super().get_fields()
        for part in export_parts():
            fields[part.name] = part.serializer(
                many=part.many, read_only=True, help_text=part.description or None
            )
        return fields


def customer_export(customer: Customer) -> dict:
    """Everything kept about ``customer``, serialized: ``{"exported_at", <part>...}``."""
    now = timezone.now()
    document = {"exported_at": now}
    for part in export_parts():
        document[part.name] = part.rows(customer)
    return CustomerExportSerializer(document, context={"now": now}).data


# --- This app's own parts -----------------------------------------------------------


class ExportProfileSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    phone = serializers.CharField(read_only=True)
    email = serializers.EmailField(
        read_only=True, allow_null=True, help_text="The verified email; null: none."
    )
    name = serializers.CharField(read_only=True)
    language = serializers.CharField(
        read_only=True,
        help_text="The saved language of answers, texts and emails; empty: "
        "each request's.",
    )
    is_active = serializers.BooleanField(read_only=True)
    created_at = serializers.DateTimeField(
        read_only=True, help_text="The first sign-in."
    )
    blocked_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when staff have blocked them from taking part; null: "
        "not blocked.",
    )
    blocked_reason = serializers.CharField(
        read_only=True,
        help_text="Why they were blocked, as staff wrote it; empty: not blocked.",
    )


class ExportEmailSerializer(serializers.Serializer):
    email = serializers.EmailField(read_only=True)
    verified = serializers.BooleanField(
        read_only=True, help_text="True: the customer proved they own it."
    )
    current = serializers.BooleanField(
        read_only=True, help_text="True: it is the customer's email now."
    )
    code_sent_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When a verification code was last mailed to it (null: not "
        "kept any more, or set by staff).",
    )
    verified_at = serializers.DateTimeField(read_only=True, allow_null=True)


class ExportSignInSerializer(serializers.Serializer):
    """A sign-in: the token it gave (never the token itself)."""

    signed_in_at = serializers.DateTimeField(source="created_at", read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    revoked_at = serializers.DateTimeField(read_only=True, allow_null=True)
    name = serializers.CharField(read_only=True)


class ExportSignInCodeSerializer(serializers.Serializer):
    """The last sign-in code sent to the customer's phone (never the code)."""

    phone = serializers.CharField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True)
    used_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When it signed in; null: unused."
    )
    wrong_attempts = serializers.IntegerField(source="attempts", read_only=True)


class ExportMessageSerializer(serializers.Serializer):
    """A text or email sent to the customer's phone or verified email."""

    channel = serializers.ChoiceField(choices=Message.Channel.choices, read_only=True)
    recipient = serializers.CharField(read_only=True)
    kind = serializers.CharField(read_only=True)
    subject = serializers.CharField(read_only=True)
    body = serializers.SerializerMethodField(
        help_text="The text; a sign-in or email code is masked."
    )
    status = serializers.ChoiceField(choices=Message.Status.choices, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    sent_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def get_body(self, message: Message) -> str:
        return message.body_for_staff


def _profile(customer: Customer) -> Customer:
    # The row as it is now: the signed-in owner may be a cached copy.
    return Customer.objects.get(pk=customer.pk)


def _emails(customer: Customer) -> list[dict]:
    rows = []
    verification = EmailVerification.objects.filter(customer=customer).first()
    if verification is not None:
        rows.append(
            {
                "email": verification.email,
                "verified": verification.verified_at is not None,
                "current": verification.email == customer.email,
                "code_sent_at": verification.sent_at,
                "verified_at": verification.verified_at,
            }
        )
    if customer.email and (
        verification is None or verification.email != customer.email
    ):
        rows.append(
            {
                "email": customer.email,
                "verified": True,
                "current": True,
                "code_sent_at": None,
                "verified_at": None,
            }
        )
    return rows


def _sign_ins(customer: Customer):
    return ApiToken.objects.filter(customer=customer).order_by("created_at", "pk")


def _sign_in_codes(customer: Customer):
    return OneTimeCode.objects.filter(phone=customer.phone)


def _messages(customer: Customer):
    # Only the phone and the verified email: a pending email may be anyone's.
    to_them = Q(channel=Message.Channel.SMS, recipient=customer.phone)
    if customer.email:
        # Emails are kept lower-case (customers and vouchers normalise them).
        to_them |= Q(channel=Message.Channel.EMAIL, recipient=customer.email.lower())
    return Message.objects.filter(to_them).order_by("created_at", "pk")


register_export_part(
    "profile",
    serializer=ExportProfileSerializer,
    rows=_profile,
    many=False,
    position=0,
    description="Who the customer is.",
)
register_export_part(
    "emails",
    serializer=ExportEmailSerializer,
    rows=_emails,
    position=10,
    description="The verified email, and the last one asked for (verified or not).",
)
register_export_part(
    "sign_ins",
    serializer=ExportSignInSerializer,
    rows=_sign_ins,
    position=20,
    description="Every sign-in (the token it gave: when, until when, revoked). "
    "No client address is kept.",
)
register_export_part(
    "sign_in_codes",
    serializer=ExportSignInCodeSerializer,
    rows=_sign_in_codes,
    position=21,
    description="The last sign-in code sent to the phone, while it is kept "
    "(RETENTION_SIGNIN_CODES): when, whether used, wrong tries; never the code.",
)
register_export_part(
    "messages",
    serializer=ExportMessageSerializer,
    rows=_messages,
    position=90,
    description="Texts and emails sent to the customer's phone and verified email.",
)
