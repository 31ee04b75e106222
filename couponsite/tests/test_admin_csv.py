"""Admin lists export as streamed CSV: every row matching the list's filters and
search (the button), or the ticked rows (the action), through one writer."""

import csv
import io

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from couponsite.admin_csv import CHUNK_SIZE
from couponsite.codes import display_code
from couponsite.testing.admin import staff_client
from customers.tests.factories import CustomerFactory
from draws.tests.factories import DrawFactory
from vouchers.admin.voucher import VoucherAdmin
from vouchers.models import Voucher, VoucherEvent
from vouchers.tests.factories import VoucherFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

EXPORT = reverse("admin:vouchers_voucher_export")


def _rows(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def _redeemed(**fields) -> Voucher:
    return VoucherFactory(
        status=Voucher.Status.REDEEMED, used_at=timezone.now(), **fields
    )


def test_export_all_matching_takes_the_lists_filter_not_its_page(admin_client):
    redeemed = [_redeemed() for _ in range(3)]
    VoucherFactory.create_batch(2)  # issued: filtered out

    response = admin_client.get(EXPORT, {"status__exact": "redeemed", "p": "2"})

    rows = _rows(response)
    assert [row["code"] for row in rows] == [display_code(v.code) for v in redeemed]
    assert {row["status"] for row in rows} == {"redeemed"}
    assert rows[0]["phone"] == redeemed[0].owner.phone


def test_export_all_matching_takes_the_lists_search(admin_client):
    wanted = VoucherFactory(owner=CustomerFactory(phone="+14155550177"))
    VoucherFactory.create_batch(2)

    rows = _rows(admin_client.get(EXPORT, {"q": "+14155550177"}))

    assert [row["code"] for row in rows] == [display_code(wanted.code)]


def test_a_search_matching_a_row_twice_exports_it_once(admin_client):
    """Searching across a relation (the voucher's owner) may join a row twice."""
    customer = CustomerFactory(email="twice@example.com")
    voucher = VoucherFactory(owner=customer, email="twice@example.com")

    rows = _rows(admin_client.get(EXPORT, {"q": "twice@example.com"}))

    assert [row["code"] for row in rows] == [display_code(voucher.code)]


def test_the_list_links_to_the_export_with_its_filters(admin_client):
    page = admin_client.get(
        reverse("admin:vouchers_voucher_changelist"),
        {"status__exact": "redeemed", "q": "x", "p": "1"},
    )

    html = page.content.decode()
    assert "Export all matching (CSV)" in html
    assert f'href="{EXPORT}?status__exact=redeemed&amp;q=x"' in html


@pytest.mark.parametrize(
    ("name", "make", "header"),
    [
        (
            "draws_draw",
            DrawFactory,
            "created_at,campaign,day,phone,won,coupon_type,code,roll",
        ),
        ("draws_claim", None, "created_at,campaign,day,phone,code,held_until"),
        ("draws_grab", None, "created_at,campaign,day,phone,reservation_number"),
        ("vouchers_voucherevent", None, "created_at,kind,code,campaign,phone,staff"),
        ("vouchers_voucher", VoucherFactory, "code,status,campaign,coupon_type"),
    ],
)
def test_every_exporting_list_has_the_button_and_streams(
    admin_client, name, make, header
):
    if make:
        make()

    page = admin_client.get(reverse(f"admin:{name}_changelist"))
    response = admin_client.get(reverse(f"admin:{name}_export"))

    assert "Export all matching (CSV)" in page.content.decode()
    assert response.streaming
    assert b"".join(response.streaming_content).decode().startswith(header)


def test_the_ticked_rows_action_uses_the_same_writer(admin_client):
    ticked, _other = _redeemed(), _redeemed()

    response = admin_client.post(
        reverse("admin:vouchers_voucher_changelist"),
        {"action": "export_vouchers", "_selected_action": [ticked.pk]},
    )

    assert [row["code"] for row in _rows(response)] == [display_code(ticked.code)]


def test_events_export_with_a_kind_filter_names_who_and_why(admin_client, admin_user):
    from vouchers.services import voucher_void

    voucher = VoucherFactory()
    voucher_void(voucher=voucher, acting_user=admin_user, reason="fraud")
    VoucherEvent.objects.create(kind=VoucherEvent.Kind.ISSUED, voucher=voucher)

    rows = _rows(
        admin_client.get(
            reverse("admin:vouchers_voucherevent_export"), {"kind__exact": "voided"}
        )
    )

    assert [(r["kind"], r["code"], r["staff"], r["reason"]) for r in rows] == [
        ("voided", display_code(voucher.code), admin_user.username, "fraud")
    ]


def test_the_export_reads_through_a_server_side_cursor_in_chunks(admin_client):
    """Constant memory: rows come from a cursor Postgres holds open while the
    response streams (at most a chunk in this process), never a full list."""
    campaign = VoucherFactory().campaign
    coupon_type = campaign.coupon_types.get()
    count = 2 * CHUNK_SIZE + 7
    Voucher.objects.bulk_create(
        Voucher(
            code=f"EXPORT{n:06d}",
            coupon_type=coupon_type,
            campaign=campaign,
            benefit_kind="amount",
            amount=5,
            currency="USD",
        )
        for n in range(count)
    )

    response = admin_client.get(EXPORT, {"q": "EXPORT"})
    blocks = iter(response.streaming_content)
    first = next(blocks)  # the cursor is open now
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_cursors WHERE name LIKE '_django_curs_%%'"
        )
        [(open_cursors,)] = cursor.fetchall()
    rest = list(blocks)

    assert first.startswith(b"code,status")
    assert open_cursors == 1
    assert rest  # more blocks came after the first
    assert b"".join([first, *rest]).count(b"\r\n") == 1 + count


def test_a_client_leaving_mid_stream_closes_the_cursor():
    coupon_type = VoucherFactory().coupon_type
    Voucher.objects.bulk_create(
        Voucher(
            code=f"LEAVE{n:06d}",
            coupon_type=coupon_type,
            campaign=coupon_type.campaign,
            benefit_kind="amount",
            amount=5,
            currency="USD",
        )
        for n in range(2 * CHUNK_SIZE)
    )
    blocks = VoucherAdmin.csv_export.lines(Voucher.objects.all())
    next(blocks)

    blocks.close()  # what the response does when the client hangs up

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_cursors")
        assert cursor.fetchall() == [(0,)]


@pytest.mark.parametrize("url", [EXPORT, reverse("admin:draws_draw_export")])
def test_export_refused_without_the_view_permission(url):
    client = staff_client("customers.view_customer")

    assert client.get(url).status_code == 403


def test_export_needs_the_export_permission_besides_the_view_permission():
    _redeemed()
    reader = staff_client("vouchers.view_voucher")
    analyst = staff_client(
        "vouchers.view_voucher", "couponsite.export_csv", username="analyst"
    )

    page = reader.get(reverse("admin:vouchers_voucher_changelist"))
    assert "Export all matching (CSV)" not in page.content.decode()
    assert reader.get(EXPORT).status_code == 403

    page = analyst.get(reverse("admin:vouchers_voucher_changelist"))
    rows = _rows(analyst.get(EXPORT))
    assert "Export all matching (CSV)" in page.content.decode()
    assert len(rows) == 1


def test_an_unknown_filter_is_a_clear_400(admin_client):
    response = admin_client.get(EXPORT, {"status__exact": "redeemed", "nosuch": "1"})

    assert response.status_code == 400
    assert b"INVALID_FILTER" in response.content
