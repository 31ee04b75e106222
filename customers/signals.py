"""Keep the token cache honest: any change to a token, its customer or its user
marks the cached answer stale after commit (see customers.authentication).

And ``email_verified``, which other apps hear to give a customer what was
issued to their email before they proved it.
"""

from django.conf import settings
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from customers.authentication import forget_tokens_of, forget_tokens_on_commit
from customers.models import ApiToken, Customer

# Sent with ``customer`` inside the transaction that verified their email
# (``email_verify``): receivers write in it, and roll back with it.
email_verified = Signal()


@receiver([post_save, post_delete], sender=ApiToken)
def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    # A new token has nothing cached yet (and marking it would keep it uncached).
    if not kwargs.get("created"):
        forget_tokens_on_commit([instance.digest])


@receiver(post_save, sender=Customer)
def _customer_changed(sender, instance: Customer, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens_of(customer_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _user_changed(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens_of(user_id=instance.pk)
