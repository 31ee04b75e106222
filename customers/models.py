import hashlib

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.phones import validate_e164


class Customer(models.Model):
    """A person taking part, known by their phone number.

    ``email`` is an address the customer proved to own (see ``EmailVerification``);
    vouchers issued to it are theirs. It stands in for ``request.user`` on
    customer tokens, so it answers the few questions DRF and Django ask of a user.
    """

    # E.164 is at most 16 characters; an erased customer's placeholder
    # ("erased:<id>", never a number) may be longer.
    phone = models.CharField(
        _("phone"), max_length=32, unique=True, validators=[validate_e164]
    )
    # NULL, not "", for "no email": the unique constraint must ignore customers without one.
    email = models.EmailField(  # noqa: DJ001
        _("email"),
        null=True,
        blank=True,
        help_text=_(
            "Verified: set only when the customer proved they own it "
            "(or by staff here)."
        ),
    )
    name = models.CharField(_("name"), max_length=150, blank=True)
    # The language of their answers, texts and emails; blank: the request's
    # (Accept-Language), and for messages sent without a request, English.
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=[(code, name) for code, name in settings.LANGUAGES],
        blank=True,
        default="",
        help_text=_("Blank: each request's Accept-Language."),
    )
    is_active = models.BooleanField(_("is active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    # Erasure (``customers.services.erasure``): the row stays, so what counts
    # for quotas and reports stays right; who they were does not.
    erased_at = models.DateTimeField(
        _("erased at"),
        null=True,
        blank=True,
        help_text=_(
            "When their personal data was erased (the row is kept, anonymised)."
        ),
    )
    # A keyed hash of the phone they had, only while that phone may not sign
    # up again (``ERASURE_SIGNIN_HOLD_SECONDS``); blanked by ``purge_expired``.
    erased_phone_hash = models.CharField(
        _("erased phone hash"), max_length=64, blank=True, db_index=True, editable=False
    )
    # Blocked by staff (``customers.services.customer_block``): may sign in and
    # read, may not take part (draws, claims, reservations, grabs).
    blocked_at = models.DateTimeField(
        _("blocked at"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "Blocked from taking part since then (draws, claims, "
            "reservations, grabs); use the Block / Unblock buttons."
        ),
    )
    blocked_reason = models.CharField(
        _("blocked reason"), max_length=200, blank=True, editable=False
    )
    blocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("blocked by"),
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
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                condition=models.Q(email__isnull=False),
                name="customer_email_unique_ci",
                violation_error_message=_("Another customer already uses this email."),
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

    hour = models.DateTimeField(_("hour"))
    prefix = models.CharField(_("prefix"), max_length=20, blank=True)
    sent = models.PositiveIntegerField(_("sent"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    exhausted_at = models.DateTimeField(_("exhausted at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in texts per hour")
        verbose_name_plural = _("sign-in texts per hour")
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "prefix"], name="sms_count_one_per_hour_prefix"
            )
        ]

    def __str__(self) -> str:
        prefix = self.prefix or gettext("all")
        return f"{prefix} {self.hour:%Y-%m-%d %H:00}: {self.sent}"


class OneTimeCode(models.Model):
    """The sign-in code last sent to a phone: one row per phone, rewritten on resend.

    Only a keyed hash of the code is kept. The row's ``sent_at`` is the resend
    limit and ``attempts`` the wrong-guess limit, both enforced by conditional
    updates and a row lock, never by reading then writing in Python.
    """

    phone = models.CharField(_("phone"), max_length=16, unique=True)
    code_hash = models.CharField(_("code hash"), max_length=64)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("one time code")
        verbose_name_plural = _("one time codes")

    def __str__(self) -> str:
        return gettext("code for %(phone)s sent %(sent_at)s") % {
            "phone": self.phone,
            "sent_at": f"{self.sent_at:%Y-%m-%d %H:%M:%S}",
        }


class EmailVerification(models.Model):
    """The email a customer asked to add, until they prove they own it.

    One row per customer, rewritten when they ask again (for the same or
    another email). Like ``OneTimeCode``: only a keyed hash of the code is kept,
    ``sent_at`` is the resend limit and ``attempts`` the wrong-guess limit, both
    enforced by conditional updates and a row lock. ``verified_at`` marks the
    code used; the customer's ``email`` changes only then.
    """

    customer = models.OneToOneField(
        Customer,
        on_delete=models.CASCADE,
        related_name="email_verification",
        verbose_name=_("customer"),
    )
    email = models.EmailField(_("email"), db_index=True)
    code_hash = models.CharField(_("code hash"), max_length=64)
    sent_at = models.DateTimeField(_("sent at"))
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("email verification")
        verbose_name_plural = _("email verifications")

    def __str__(self) -> str:
        return gettext("%(email)s for customer %(customer)s") % {
            "email": self.email,
            "customer": self.customer_id,
        }


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

    digest = models.CharField(_("digest"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="tokens",
        verbose_name=_("customer"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("user"),
        help_text=_(
            "A staff user: the token may generate vouchers, create campaigns "
            "and redeem at checkout."
        ),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(
        _("expires at"), help_text=_("The token is refused from then on.")
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
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
