"""Endpoints the retailer registered, the events sent to them, and each delivery's
attempts (docs/webhooks.md)."""

import secrets
import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from webhooks.events import EventType

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: 32 random bytes, URL-safe text."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """A URL of the retailer's that receives the events it subscribes to, signed
    with its own secret."""

    url = models.URLField(
        _("url"), max_length=500, help_text=_("Where events are POSTed.")
    )
    secret = models.CharField(
        _("secret"), max_length=100, default=new_secret, editable=False
    )
    events = models.JSONField(
        _("events"),
        default=list,
        help_text=_("The event types this endpoint receives."),
    )
    active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(
        _("created at"), default=timezone.now, editable=False
    )
    secret_rolled_at = models.DateTimeField(
        _("secret rolled at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("endpoint")
        verbose_name_plural = _("endpoints")
        ordering = ["-created_at", "-id"]
        permissions = [("roll_secret_endpoint", "Can roll an endpoint's secret")]

    def __str__(self) -> str:
        return self.description or self.url


class Event(models.Model):
    """Something that happened, as told to every endpoint subscribed at the time."""

    id = models.UUIDField(_("ID"), primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    payload = models.JSONField(_("payload"))
    # Events that must be told once only (a rush day sold out) carry a key.
    once_key = models.CharField(
        _("once key"), max_length=200, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type", "created_at"], name="event_type_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Delivery(models.Model):
    """One event to one endpoint, tried until it is delivered or a day has passed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    event = models.ForeignKey(
        Event,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("event"),
    )
    endpoint = models.ForeignKey(
        Endpoint,
        on_delete=models.CASCADE,
        related_name="deliveries",
        verbose_name=_("endpoint"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # Set while a worker sends it, so a duplicate task does not send it as well.
    sending_until = models.DateTimeField(_("sending until"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    # Failed attempts are tried again until then (a day; "send again" starts anew).
    retry_until = models.DateTimeField(_("retry until"))
    last_status_code = models.PositiveIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["-created_at", "-id"]
        permissions = [("send_again_delivery", "Can send a delivery again")]
        indexes = [
            models.Index(fields=["status", "created_at"], name="delivery_status")
        ]

    def __str__(self) -> str:
        return gettext("%(type)s to %(endpoint)s") % {
            "type": self.event.type,
            "endpoint": self.endpoint,
        }


class Attempt(models.Model):
    """One POST of a delivery: when, how long, what came back."""

    delivery = models.ForeignKey(
        Delivery,
        on_delete=models.CASCADE,
        related_name="attempt_set",
        verbose_name=_("delivery"),
    )
    started_at = models.DateTimeField(_("started at"))
    duration_ms = models.PositiveIntegerField(_("duration ms"))
    status_code = models.PositiveIntegerField(_("status code"), null=True, blank=True)
    response_excerpt = models.CharField(
        _("response excerpt"), max_length=500, blank=True
    )
    error = models.CharField(_("error"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
