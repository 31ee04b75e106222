"""What vouchers do when something happens in another app."""

from django.dispatch import receiver

from customers.signals import email_verified
from vouchers.services import vouchers_link_email


@receiver(email_verified)
def _link_vouchers(sender, customer, **kwargs) -> None:
    """A customer proved an email: the unowned vouchers issued to it are theirs."""
    vouchers_link_email(customer=customer)
