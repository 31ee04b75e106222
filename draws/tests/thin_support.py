"""What the modes' thin-path tests share: a signed-in customer seen from both
paths, and a campaign this process holds (couponsite.testing.thin sends the
requests)."""

from rest_framework.test import APIClient

from campaigns.selectors import campaign_by_slug
from couponsite.localcache import local_clear
from customers.services import token_create
from customers.tests.factories import CustomerFactory
from webhooks.subscriptions import subscribed_types


def signed_in() -> tuple[str, APIClient]:
    """A customer's token (for the thin path) and a client of theirs (for Django)."""
    customer = CustomerFactory()
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(customer=customer).key}"
    )
    client.customer = customer
    return token_create(customer=customer).key, client


def held(slug: str) -> None:
    """This process holds the campaign, as after Django served it a moment ago."""
    local_clear()
    assert campaign_by_slug(slug) is not None
    subscribed_types(reload=True)  # the webhooks' subscriptions, read by Django too
