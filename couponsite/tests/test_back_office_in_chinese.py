"""The whole back office in Chinese (issue 16): every page an employee opens,
read in zh-hant and zh-hans, shows no English word of ours.

The demo's data (``seed_demo``) plus one row of every history table is put in
place; then every model's list, add and change page and every page of our
own (dashboards, over time, simulate, generate, erase, block, roll secret) is
rendered as a superuser whose browser asks for Chinese. The visible text
(text nodes and the titles, placeholders and button labels an employee reads)
is split into words, and an English word must be one of:

- a word of the data itself (a campaign's name, an email, a permission's name:
  Django names permissions in English when it creates them);
- a code or abbreviation (all capitals: ACTIVE, CSV, SMS, API, UTC);
- one of ``ALLOWED`` below, each with its reason.

A new label, column, button or template text left in English fails this test
with the page and the words.
"""

import io
import json
import re
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.urls import NoReverseMatch, reverse

from campaigns.models import Campaign
from customers.models import Customer
from customers.services import email_verification_start, otp_send
from draws.claim.services import claim_take
from draws.claim.tests.claim_helpers import claim_campaign
from draws.rush.tests.rush_support import customers, rush_with_one_grab
from webhooks.models import Endpoint

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CHINESE = ("zh-hant", "zh-hans")

# The task queue's own pages (django-tasks-db's admin, for superusers only, no
# role reaches them) label its columns with field names it does not mark for
# translation; its app and model names, on every employee's start page, are ours.
NOT_OURS = {"django_tasks_database"}
# Our apps; Django's own (auth) translates itself.
OUR_APPS = (
    "couponsite",
    "messaging",
    "webhooks",
    "customers",
    "campaigns",
    "vouchers",
    "draws",
)

# English that stays English in a Chinese back office, and why.
ALLOWED = {
    # Proper names and formats employees type or read as such.
    "Couponsite",  # the product's name
    "Django",  # the framework's name (footer links, Django's own pages)
    "Webhook",
    "webhook",
    "webhooks",  # the term retailers' developers use; no settled Chinese word
    "Bearer",  # the HTTP scheme, as typed in a header
    "Lua",
    "Redis",
    "Postgres",
    "PostgreSQL",  # names of the servers
    "HMAC",
    "SHA",
    "JSON",
    "HTTPS",
    "HTTP",  # protocols and formats
    "Asia",
    "Taipei",
    "Hong_Kong",
    "Kong",
    "Hong",  # time zone names (IANA), as typed
    "Europe",
    "Paris",
    "America",
    "New_York",
    "York",
    "New",
    "English",  # each language is named in itself in the language menu
    "shoes",
    "bags",  # example category codes, as a retailer types them
    "Control",
    "Mac",
    "Command",  # key names in Django's "hold down Control" help
}

WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019]*[A-Za-z]")
# What reads as code, not prose, removed before words are looked at: dotted or
# snake_case names (voucher.redeemed, hold_seconds, claims.csv, manage.py),
# header names (Accept-Language) and masked secrets (NTHcvd****, whsec_…9xQa).
CODE = re.compile(
    r"\b\w+(?:[._-]\w+)*[._]\w+\b"
    r"|\b[A-Z][a-z]+(?:-[A-Z][a-z]+)+\b"
    r"|\S*\*{4,}"
    r"|\S*\u2026\S*"
)
# Attributes whose text an employee reads (not images' alt: Django's icons).
READ_ATTRIBUTES = {"title", "placeholder", "aria-label"}


class VisibleText(HTMLParser):
    """The text of a page as an employee reads it: text nodes outside scripts,
    styles and text areas, readable attributes, and the labels of buttons."""

    SKIP = {"script", "style", "textarea", "template"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        values = dict(attrs)
        for name in READ_ATTRIBUTES:
            if values.get(name):
                self.parts.append(values[name])
        if tag == "input" and values.get("type") in {"submit", "button"}:
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def visible_words(html: str) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    return set(WORD.findall(CODE.sub(" ", " ".join(parser.parts))))


def data_words(models_read: list[type[models.Model]]) -> set[str]:
    """Every word stored in these models' text columns (what pages show as data),
    code names (app labels, task paths, event types) left out as the pages' are."""
    words = set()
    for model in models_read:
        fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, (models.CharField, models.TextField, models.JSONField))
        ]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            for value in row:
                if value:
                    text = value if isinstance(value, str) else json.dumps(value)
                    text = CODE.sub(" ", text)
                    words.update(word.lower() for word in WORD.findall(text))
    return words


def page_data() -> tuple[set[str], set[str]]:
    """The data words of every page, and those of Django's own auth pages.

    Content types and permissions hold every model's name in English (Django
    writes permission names once, in English, at migrate): counted as data
    they would hide an untranslated model name anywhere. They are data only
    on the auth pages, where Django lists permissions by those names."""
    names = {ContentType, Permission}
    everywhere = data_words([m for m in apps.get_models() if m not in names])
    return everywhere, everywhere | data_words([Permission])


def english_of_ours(html: str, data: set[str]) -> set[str]:
    return {
        word
        for word in visible_words(html)
        if word not in ALLOWED and not word.isupper() and word.lower() not in data
    }


def _scene() -> dict:
    """The demo, one row of each history table, and the objects our own pages need."""
    call_command(
        "seed_demo",
        admin_username="demo-admin",
        admin_password="x-demo-password",
        stdout=io.StringIO(),
    )
    claim_take(campaign=claim_campaign(released=1), customer=Customer.objects.first())
    rush_with_one_grab()
    otp_send(phone="+14155550100")
    email_verification_start(
        customer=customers(1, start=50)[0], email="new@example.com"
    )
    call_command("audit_invariants", stdout=io.StringIO())
    endpoint = Endpoint.objects.create(
        url="https://example.com/hook", description="Checkout"
    )
    return {
        "draw_campaign": Campaign.objects.filter(kind=Campaign.Kind.DRAW).first(),
        "customer": Customer.objects.first(),
        "endpoint": endpoint,
    }


def _pages(scene: dict, request) -> list[str]:
    urls = [reverse("admin:index")]
    for app in OUR_APPS:
        urls.append(reverse("admin:app_list", args=[app]))
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if meta.app_label in NOT_OURS:
            continue
        name = f"admin:{meta.app_label}_{meta.model_name}"
        urls.append(reverse(f"{name}_changelist"))
        if model_admin.has_add_permission(request):
            urls.append(reverse(f"{name}_add"))
        for row in model.objects.order_by("pk")[:1]:
            urls.append(reverse(f"{name}_change", args=[row.pk]))
    for campaign in Campaign.objects.order_by("pk"):
        urls.append(reverse("admin:campaigns_campaign_dashboard", args=[campaign.pk]))
        urls.append(f"/admin/campaigns/campaign/{campaign.pk}/over-time/")
    draw = scene["draw_campaign"]
    urls.append(f"/admin/campaigns/campaign/{draw.pk}/simulate/")
    urls.append(f"/admin/campaigns/campaign/{draw.pk}/simulate/?runs=20&customers=50")
    customer = scene["customer"]
    for name, args in [
        ("customers_customer_erase", [customer.pk]),
        ("customers_customer_block", [customer.pk, "block"]),
        ("webhooks_endpoint_roll_secret", [scene["endpoint"].pk]),
        ("vouchers_offer_generate", []),
    ]:
        try:
            urls.append(reverse(f"admin:{name}", args=args))
        except NoReverseMatch:  # pragma: no cover - a renamed page fails below
            urls.append(f"missing:{name}")
    return urls


@pytest.mark.parametrize("language", CHINESE)
def test_every_back_office_page_reads_in_chinese(
    admin_client, admin_user, rf, language
):
    scene = _scene()
    data, auth_data = page_data()
    request = rf.get("/admin/")
    request.user = admin_user
    found = {}
    for url in _pages(scene, request):
        assert not url.startswith("missing:"), url
        page = admin_client.get(url, headers={"accept-language": language})
        assert page.status_code in (200, 403), (url, page.status_code)
        if page.status_code != 200 or "html" not in page.get("content-type", ""):
            continue
        assert page["content-language"] == language, url
        seen = auth_data if url.startswith("/admin/auth/") else data
        for word in english_of_ours(page.content.decode(), seen):
            found.setdefault(word, url)

    # Each English word left, with the first page showing it.
    if found:
        pytest.fail(
            f"{len(found)} English words in the back office in {language}:\n"
            + "\n".join(f"  {word!r}: {url}" for word, url in sorted(found.items()))
        )


def test_the_check_finds_an_english_label():
    """The check itself: an English label among Chinese and data is found;
    data, codes and allowed names are not."""
    html = (
        '<h1>活動</h1><th title="Campaign name">名稱</th><td>Lucky Draw</td>'
        "<td>ACTIVE</td><td>Couponsite</td><script>var label = 'Hidden';</script>"
        "<td>voucher.redeemed 已使用</td><td>hold_seconds</td>"
        '<input type="submit" value="Save">'
    )

    assert english_of_ours(html, {"lucky", "draw"}) == {"Campaign", "name", "Save"}
