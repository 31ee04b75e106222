import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from customers.phones import validate_e164


class Customer(models.Model):
    """A person taking part, known by their phone number.

    ``email`` is an address the customer proved to own (see ``EmailVerification``);
    vouchers issued to it are theirs. It stands in for ``request.user`` on
    customer tokens, so it answers the few questions DRF and Django ask of a user.
    """

    # E.164 is at most 16 characters; an erased customer's placeholder
    # ("erased:<id>", never a number) may be longer.
    phone = models.CharField(max_length=32, unique=True, validators=[validate_e164])
    # NULL, not "", for "no email": the unique constraint must ignore customers without one.
    email = models.EmailField(  # noqa: DJ001
        null=True,
        blank=True,
        help_text="Verified: set only when the customer proved they own it "
        "(or by staff here).",
    )
    name = models.CharField(max_length=150, blank=True)
    # The language of their answers, texts and emails; blank: the request's
    # (Accept-Language), and for messages sent without a request, English.
    language = models.CharField(
        max_length=8,
        choices=[(code, name) for code, name in settings.LANGUAGES],
        blank=True,
        default="",
        help_text="Blank: each request's Accept-Language.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Erasure (``customers.services.erasure``): the row stays, so what counts
    # for quotas and reports stays right; who they were does not.
    erased_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When their personal data was erased (the row is kept, anonymised).",
    )
    # A keyed hash of the phone they had, only while that phone may not sign
    # up again (``ERASURE_SIGNIN_HOLD_SECONDS``); blanked by ``purge_expired``.
    erased_phone_hash = models.CharField(
        max_length=64, blank=True, db_index=True, editable=False
    )
    # Blocked by staff (``customers.services.customer_block``): may sign in and
    # read, may not take part (draws, claims, reservations, grabs).
    blocked_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="Blocked from taking part since then (draws, claims, "
        "reservations, grabs); use the Block / Unblock buttons.",
    )
    blocked_reason = models.CharField(max_length=200, blank=True, editable=False)
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(email__isnull=False),
                name="customer_email_unique_ci",
                violation_error_message="Another customer already uses this email.",
            )
        ]
        permissions = [
            ("erase_customer", "Can erase a customer's personal data"),
            ("block_customer", "Can block or unblock a customer from taking part"),
        ]

    def __str__(self) -> str:
        return self.name or self.phone

    def save(self, *args, **kwargs):
        if self.email:
            self.email = self.email.strip().lower()
        else:
            self.email = None
        super().save(*args, **kwargs)


class SmsCount(models.Model):
    """Sign-in texts sent in one clock hour (UTC): the whole site's (``prefix``
    "") and each phone prefix's (country code and the first
    ``SMS_PREFIX_DIGITS`` national digits, e.g. "1415555").

    ``sent`` only grows by a conditional upsert that stops at the limit
    (``customers.services.sms_limits``), inside the send's transaction: a
    refused or failed send takes nothing. ``refused`` counts the refusals;
    ``warned_at`` / ``exhausted_at`` mark that the hour's alarm (80 %, spent)
    was raised, so it is logged once per hour.
    """

    hour = models.DateTimeField()
    prefix = models.CharField(max_length=20, blank=True)
    sent = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    warned_at = models.DateTimeField(null=True, blank=True)
    exhausted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sign-in texts per hour"
        verbose_name_plural = "sign-in texts per hour"
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "prefix"], name="sms_count_one_per_hour_prefix"
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix or 'all'} {self.hour:%Y-%m-%d %H:00}: {self.sent}"


class OneTimeCode(models.Model):
    """The sign-in code last sent to a phone: one row per phone, rewritten on resend.

    Only a keyed hash of the code is kept. The row's ``sent_at`` is the resend
    limit and ``attempts`` the wrong-guess limit, both enforced by conditional
    updates and a row lock, never by reading then writing in Python.
    """

    phone = models.CharField(max_length=16, unique=True)
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"code for {self.phone} sent {self.sent_at:%Y-%m-%d %H:%M:%S}"


class EmailVerification(models.Model):
    """The email a customer asked to add, until they prove they own it.

    One row per customer, rewritten when they ask again (for the same or
    another email). Like ``OneTimeCode``: only a keyed hash of the code is kept,
    ``sent_at`` is the resend limit and ``attempts`` the wrong-guess limit, both
    enforced by conditional updates and a row lock. ``verified_at`` marks the
    code used; the customer's ``email`` changes only then.
    """

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="email_verification"
    )
    email = models.EmailField(db_index=True)
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.email} for customer {self.customer_id}"


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now=None):
        """Neither revoked nor expired."""
        return self.filter(
            revoked_at__isnull=True, expires_at__gt=now or timezone.now()
        )


class ApiToken(models.Model):
    """A bearer token for a customer or a staff user (exactly one of them).

    Only the SHA-256 of the token is stored; the token itself is shown once.
    Every token ends at ``expires_at`` (``TOKEN_TTL_SECONDS`` after sign-in for
    customers, ``STAFF_TOKEN_TTL_SECONDS`` for staff, unless chosen otherwise).
    """

    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        help_text="A staff user: the token may generate vouchers, create campaigns and redeem at checkout.",
    )
    name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(help_text="The token is refused from then on.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(customer__isnull=False, user__isnull=True)
                    | models.Q(customer__isnull=True, user__isnull=False)
                ),
                name="api_token_one_owner",
            )
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.owner})"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def owner(self):
        return self.customer if self.customer_id else self.user
