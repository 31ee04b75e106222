from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from campaigns.caching import campaign_forget, odds_invalidate
from campaigns.models import Campaign, CouponType


@receiver([post_save, post_delete], sender=CouponType)
def forget_cached_odds(sender, instance: CouponType, **kwargs) -> None:
    """Any edit of a coupon type (admin, API, shell) drops the cached distribution."""
    campaign_id = instance.campaign_id
    transaction.on_commit(lambda: odds_invalidate(campaign_id))


@receiver([post_save, post_delete], sender=Campaign)
def forget_cached_campaign(sender, instance: Campaign, **kwargs) -> None:
    slug = instance.slug
    transaction.on_commit(lambda: campaign_forget(slug))
