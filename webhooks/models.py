"""Endpoints the retailer registered, the events sent to them, and each delivery's
attempts (docs/webhooks.md)."""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from webhooks.events import EventType

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A signing secret: 32 random bytes, URL-safe text."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Endpoint(models.Model):
    """A URL of the retailer's that receives the events it subscribes to, signed
    with its own secret."""

    url = models.URLField(max_length=500, help_text="Where events are POSTed.")
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    events = models.JSONField(
        default=list, help_text="The event types this endpoint receives."
    )
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    secret_rolled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("roll_secret_endpoint", "Can roll an endpoint's secret")]

    def __str__(self) -> str:
        return self.description or self.url


class Event(models.Model):
    """Something that happened, as told to every endpoint subscribed at the time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    # Events that must be told once only (a rush day sold out) carry a key.
    once_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["type", "created_at"], name="event_type_time")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Delivery(models.Model):
    """One event to one endpoint, tried until it is delivered or a day has passed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, related_name="deliveries"
    )
    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    # Set while a worker sends it, so a duplicate task does not send it as well.
    sending_until = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Failed attempts are tried again until then (a day; "send again" starts anew).
    retry_until = models.DateTimeField()
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        permissions = [("send_again_delivery", "Can send a delivery again")]
        indexes = [
            models.Index(fields=["status", "created_at"], name="delivery_status")
        ]

    def __str__(self) -> str:
        return f"{self.event.type} to {self.endpoint}"


class Attempt(models.Model):
    """One POST of a delivery: when, how long, what came back."""

    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, related_name="attempt_set"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error}"
