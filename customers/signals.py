"""Keep the token cache honest: any change to a token, its customer or its user
marks the cached answer stale after commit (see customers.authentication)."""

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from customers.authentication import forget_tokens, shared_token_cache
from customers.models import ApiToken, Customer


def _forget_on_commit(digests: list[str]) -> None:
    if digests:
        transaction.on_commit(lambda: forget_tokens(digests))


def _forget_tokens_of(*, customer_id: int | None = None, user_id: int | None = None):
    if shared_token_cache() is None:
        return  # nothing cached: every request asks the database
    if customer_id:
        tokens = ApiToken.objects.active().filter(customer_id=customer_id)
    else:
        tokens = ApiToken.objects.active().filter(user_id=user_id)
    _forget_on_commit(list(tokens.values_list("digest", flat=True)))


@receiver([post_save, post_delete], sender=ApiToken)
def _token_changed(sender, instance: ApiToken, **kwargs) -> None:
    # A new token has nothing cached yet (and marking it would keep it uncached).
    if not kwargs.get("created") and shared_token_cache() is not None:
        _forget_on_commit([instance.digest])


@receiver(post_save, sender=Customer)
def _customer_changed(sender, instance: Customer, created: bool, **kwargs) -> None:
    if not created:
        _forget_tokens_of(customer_id=instance.pk)


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _user_changed(sender, instance, created: bool, **kwargs) -> None:
    if not created:
        _forget_tokens_of(user_id=instance.pk)
