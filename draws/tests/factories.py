import factory
from django.utils import timezone

from campaigns.tests.factories import CampaignFactory
from customers.tests.factories import CustomerFactory
from draws.models import Draw


class DrawFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Draw

    customer = factory.SubFactory(CustomerFactory)
    campaign = factory.SubFactory(CampaignFactory)
    day = factory.LazyAttribute(lambda d: d.campaign.local_day(timezone.now()))
    roll = 0.9
    odds = factory.LazyFunction(list)
