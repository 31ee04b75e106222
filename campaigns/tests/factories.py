import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from campaigns.models import Campaign, CouponType


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    slug = factory.Sequence(lambda n: f"campaign-{n}")
    kind = Campaign.Kind.DRAW
    timezone = "Europe/Paris"
    starts_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=1))
    ends_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=30))
    status = Campaign.Status.ACTIVE


class CouponTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CouponType

    campaign = factory.SubFactory(CampaignFactory)
    name = factory.Sequence(lambda n: f"Prize {n}")
    benefit_kind = CouponType.Kind.AMOUNT
    amount = Decimal(5)
    currency = "USD"
    probability = Decimal(1)
    total_quota = None
    daily_quota = None
