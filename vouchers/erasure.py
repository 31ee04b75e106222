"""What vouchers do when a customer is erased (``customers.erasure``),
registered by ``VouchersConfig.ready``.

The vouchers stay as they are, still theirs (the anonymised row): issued ones
can still be redeemed at checkout by whoever holds the code, like any coupon;
a held claim coupon returns to the pool when its hold ends, as if they never
came back; redeemed ones keep counting. Only the email goes: the one the pool
issued each of their vouchers to, and their verified email on any voucher
(unowned ones issued to it are theirs too). Their history (``VoucherEvent``)
names the anonymised row and holds no personal data.
"""

from django.db.models import Q

from customers.erasure import ErasedCustomer, register_erasure_part
from vouchers.models import Voucher


def vouchers_erase_email(erased: ErasedCustomer) -> int:
    """Blank the email of the erased customer's vouchers; how many."""
    theirs = Q(owner=erased.customer)
    if erased.email:
        theirs |= Q(email=erased.email)
    return Voucher.objects.filter(theirs).exclude(email="").update(email="")


register_erasure_part("vouchers", vouchers_erase_email)
