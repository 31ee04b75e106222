"""The admin's campaign forms as a browser posts them, for tests."""

import datetime as dt
from html.parser import HTMLParser

from django.urls import reverse
from django.utils import timezone


def campaign_add_url(kind: str = "draw") -> str:
    """The add page of a campaign of ``kind`` (the kind is chosen first)."""
    return f"{reverse('admin:campaigns_campaign_add')}?kind={kind}"


def campaign_add_form(**overrides) -> dict:
    """A draw campaign with one coupon type, running from yesterday for 30 days;
    ``overrides`` replace or add form fields."""
    now = timezone.now()
    data = {
        "name": "Admin Draw",
        "slug": "admin-draw",
        "kind": "draw",
        "status": "active",
        "description": "",
        "timezone": "Europe/Paris",
        "starts_at_0": (now - dt.timedelta(days=1)).strftime("%Y-%m-%d"),
        "starts_at_1": "00:00:00",
        "ends_at_0": (now + dt.timedelta(days=30)).strftime("%Y-%m-%d"),
        "ends_at_1": "00:00:00",
        "reservation_opens": "22:55:00",
        "reservation_closes": "22:59:59",
        "rush_opens": "23:00:00",
        "rush_closes": "23:00:59",
        "ratio": "0.2",
        "coupon_types-TOTAL_FORMS": "1",
        "coupon_types-INITIAL_FORMS": "0",
        "coupon_types-MIN_NUM_FORMS": "0",
        "coupon_types-MAX_NUM_FORMS": "1000",
        "coupon_types-0-name": "$2 Cash Coupon",
        "coupon_types-0-benefit_kind": "amount",
        "coupon_types-0-amount": "2",
        "coupon_types-0-currency": "USD",
        "coupon_types-0-probability": "0.5",
        "coupon_types-0-hold_seconds": "300",
        "coupon_types-0-valid_days": "30",
        "coupon_types-0-code_length": "10",
        "coupon_types-0-quota_shards": "1",
    }
    data.update(overrides)
    return data


class _FormFields(HTMLParser):
    """The fields of one ``<form>`` and the values a browser would submit."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, str] = {}
        self.select: str | None = None
        self.select_first: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside or "__prefix__" in attrs.get("name", ""):
            return  # an inline's blank template: only the page's script uses it
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.data[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                self.data[name] = attrs.get("value", "")
        elif tag == "select" and name:
            self.select, self.select_first = name, None
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.select_first is None:
                self.select_first = value
            if "selected" in attrs:
                self.data[self.select] = value
        elif tag == "textarea" and name:
            self.textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            self.data.setdefault(self.select, self.select_first or "")
            self.select = None
        elif tag == "textarea" and self.textarea:
            # A browser drops the newline that follows <textarea>.
            self.data[self.textarea] = self.data[self.textarea].removeprefix("\n")
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data


def form_as_posted(page: str, form_id: str = "campaign_form", **overrides) -> dict:
    """What a browser posts from ``page``'s form ``form_id`` when saved as shown;
    ``overrides`` replace or add fields."""
    fields = _FormFields(form_id)
    fields.feed(page)
    return {**fields.data, "_save": "Save", **overrides}
