"""The back office start page's SMS budget alarm (``customers.services.sms_limits``)."""

from django import template

from customers.services import sms_budget_state

register = template.Library()


@register.simple_tag
def sms_budget_alarm():
    """This hour's sign-in texts against the budget when the alarm is on (at
    ``SMS_BUDGET_WARN_PERCENT`` or spent), else None (one query)."""
    state = sms_budget_state()
    return state if state is not None and state.alarm else None
