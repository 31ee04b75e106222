"""The worker's side of messages: send one, send a chunk, sweep the left-behind."""

from crontask import cron
from django.tasks import task

from messaging import services


@task(queue_name="default")
def send_message(message_id: int) -> str:
    """Send one message (``services.message_deliver``)."""
    return services.message_deliver(message_id=message_id)


@task(queue_name="default")
def send_messages(message_ids: list[int]) -> dict[str, int]:
    """Send a chunk of messages queued together (``queue_emails_in_bulk``), one
    after another; each is claimed, retried and failed on its own."""
    outcomes: dict[str, int] = {}
    for message_id in message_ids:
        outcome = services.message_deliver(message_id=message_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


@cron("* * * * *")
@task(queue_name="jobs")
def sweep_messages() -> dict[str, int]:
    """Every minute: re-enqueue messages left without a task or lost mid-send."""
    return services.messages_sweep()
