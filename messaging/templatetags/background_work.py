"""The back office start page's "Background work" panel."""

from django import template
from django.db.models import Count, Q

from couponsite.background.figures import queue_figures
from messaging.models import Message

register = template.Library()


@register.simple_tag
def background_work() -> dict:
    """Messages still on their way, failed messages, and the task queue's figures
    (two queries)."""
    counts = Message.objects.aggregate(
        waiting=Count(
            "pk",
            filter=Q(status__in=[Message.Status.PENDING, Message.Status.SENDING]),
        ),
        failed=Count("pk", filter=Q(status=Message.Status.FAILED)),
    )
    return {**counts, "queue": queue_figures()}
