"""The vouchers' back office: offers, vouchers, their history."""

from vouchers.admin import events, offers, voucher  # noqa: F401 - registers them
