import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from vouchers.models import Offer, Voucher

pytestmark = pytest.mark.django_db


def test_admin_generates_from_a_csv_and_answers_with_the_codes(
    admin_client, admin_user
):
    upload = SimpleUploadedFile(
        "emails.csv",
        b"name,email\nAnn,ann@x.com\nBob,bob@x.com\n",
        content_type="text/csv",
    )

    response = admin_client.post(
        reverse("admin:vouchers_offer_generate"),
        {
            "offer_name": "KOI",
            "discount": "22.1",
            "expires_at": "2099-01-01 00:00",
            "emails_csv": upload,
        },
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["email"] for row in rows] == ["ann@x.com", "bob@x.com"]
    assert {row["code"].replace("-", "") for row in rows} == set(
        Voucher.objects.values_list("code", flat=True)
    )


def test_admin_rejects_a_file_without_emails(admin_client):
    upload = SimpleUploadedFile("emails.csv", b"nothing here\n")

    response = admin_client.post(
        reverse("admin:vouchers_offer_generate"),
        {
            "offer_name": "KOI",
            "discount": "5",
            "expires_at": "2099-01-01 00:00",
            "emails_csv": upload,
        },
    )

    assert response.status_code == 200
    assert "No email found" in response.content.decode()
    assert not Offer.objects.exists()


def test_offer_changelist_links_to_generation(admin_client):
    response = admin_client.get(reverse("admin:vouchers_offer_changelist"))

    assert reverse("admin:vouchers_offer_generate") in response.content.decode()


def test_command_writes_codes(tmp_path):
    emails = tmp_path / "emails.txt"
    emails.write_text("a@x.com\nb@x.com\n")
    output = tmp_path / "codes.csv"

    call_command(
        "generate_vouchers",
        "--offer=Spring",
        "--discount=15",
        "--expires=2099-12-31",
        f"--emails-file={emails}",
        f"--output={output}",
        stderr=io.StringIO(),
    )

    rows = list(csv.DictReader(output.open()))
    assert len(rows) == 2
    assert Voucher.objects.filter(offer__name="Spring").count() == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--discount=abc"],
        ["--discount=0"],
        ["--expires=yesterday"],
        ["--expires=2001-01-01"],
    ],
)
def test_command_rejects_bad_arguments(tmp_path, args):
    emails = tmp_path / "emails.txt"
    emails.write_text("a@x.com\n")
    base = {"--offer": "X", "--discount": "10", "--expires": "2099-01-01"}
    for arg in args:
        key, value = arg.split("=")
        base[key] = value

    with pytest.raises(CommandError):
        call_command(
            "generate_vouchers",
            *[f"{k}={v}" for k, v in base.items()],
            f"--emails-file={emails}",
            stderr=io.StringIO(),
        )
