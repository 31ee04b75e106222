"""Keep the token cache honest: any change to a token, its customer or its user
drops the cached answer (see customers.authentication)."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from customers.models import ApiToken, Customer


def forget_tokens(
    *, customer_id: int | None = None, user_id: int | None = None
) -> None:
    """Drop the cached owners of every token of a customer or user (after commit)."""
    from django.core.cache import cache

    from customers.authentication import token_cache_key

    tokens = ApiToken.objects.filter(customer_id=customer_id) if customer_id else None
    if user_id:
        tokens = ApiToken.objects.filter(user_id=user_id)
    if tokens is None:
        return
    keys = [
        token_cache_key(digest) for digest in tokens.values_list("digest", flat=True)
    ]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys))


@receiver([post_save, post_delete], sender=ApiToken)
def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    from django.core.cache import cache

    from customers.authentication import token_cache_key

    key = token_cache_key(instance.digest)
    transaction.on_commit(lambda: cache.delete(key))


@receiver(post_save, sender=Customer)
def _customer_changed(sender, instance: Customer, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens(customer_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _user_changed(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        forget_tokens(user_id=instance.pk)
