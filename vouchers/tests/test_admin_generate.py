"""The generate-from-CSV page: its breadcrumb, and every line it skips named with why."""

import csv
import io

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from vouchers.models import Voucher

pytestmark = pytest.mark.django_db

URL = reverse("admin:vouchers_offer_generate")
FILE = (
    b"name,email\n"
    b"Ann,ann@x.com\n"
    b"Bob,bob.x.com\n"  # no "@": no email in this line
    b"Cy,cy@\n"  # not a valid email
    b"\n"  # blank: nothing to report
    b"Ann again,ANN@x.com\n"  # already read
    b"Dee,dee@x.com\n"
)
SKIPPED = [
    "Line 3: no email in this line.",
    "Line 4: “cy@” is not a valid email address.",
    "Line 6: ann@x.com repeats line 2.",
]


def _post(client, **extra):
    return client.post(
        URL,
        {
            "offer_name": "KOI",
            "discount": "10",
            "expires_at": "2099-01-01 00:00",
            "emails_csv": SimpleUploadedFile("emails.csv", FILE),
            **extra,
        },
    )


def test_the_breadcrumb_leads_home_to_the_app_and_to_offers(admin_client):
    html = admin_client.get(URL).content.decode()

    crumbs = html[html.index('class="breadcrumbs"') :].split("</div>")[0]
    assert f'href="{reverse("admin:index")}"' in crumbs
    assert f'href="{reverse("admin:app_list", args=["vouchers"])}">Vouchers<' in crumbs
    assert f'href="{reverse("admin:vouchers_offer_changelist")}">Offers<' in crumbs


def test_lines_without_a_usable_email_are_listed_and_nothing_is_made(admin_client):
    response = _post(admin_client)

    assert response.status_code == 200
    errors = list(response.context["form"].errors["emails_csv"])
    assert errors[1:] == SKIPPED
    html = response.content.decode()
    assert all(line in html for line in SKIPPED)
    assert not Voucher.objects.exists()


def test_skipping_bad_lines_makes_the_others_and_says_which_were_skipped(
    admin_client,
):
    response = _post(admin_client, skip_bad_lines="on")

    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["email"] for row in rows] == ["ann@x.com", "dee@x.com"]
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("2 vouchers generated; skipped: ")
    assert all(line in message for line in SKIPPED)
