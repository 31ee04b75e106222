"""CSV exports of admin lists, streamed so a million rows take no more memory than ten.

One writer, two querysets: ``CsvExport.response`` streams any queryset of the
model as CSV; the "Export selected" action gives it the ticked rows, and the
"Export all matching (CSV)" button (``CsvExportMixin``) every row the list's
current filters, date drill-down and search match, whatever page is shown.

Rows are read as plain tuples (``values_list``) through a server-side cursor
(``iterator(chunk_size=…)``, a named cursor on Postgres), ordered by primary
key: no model instance per row, and at most one chunk in memory.
"""

import csv
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.urls import path, reverse
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

CHUNK_SIZE = 2000  # rows a fetch from the cursor
BLOCK_CHARS = 64 * 1024  # CSV handed to the server at once


def _plain(value) -> object:
    if value is None:
        return ""
    if isinstance(value, dt.date):  # datetimes too
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Column:
    """One CSV column: its ``header``, the ``field`` path read from each row
    (as ``values_list`` takes it: ``"customer__phone"``, ``"data__order_ref"``)
    and how to ``show`` that value (``None`` becomes empty, dates ISO 8601)."""

    header: str
    field: str
    show: Callable[[object], object] = _plain


def shown_if_set(show: Callable[[object], object]) -> Callable[[object], object]:
    """``show`` for set values, empty for ``None`` (e.g. a code of a lost draw)."""
    return lambda value: "" if value is None else show(value)


class _Echo:
    def write(self, value: str) -> str:
        return value


class CsvExport:
    """A list's CSV: ``filename`` and its columns."""

    def __init__(self, filename: str, columns: Iterable[Column]):
        self.filename = filename
        self.columns = list(columns)

    def lines(self, queryset: QuerySet) -> Iterator[str]:
        """The header, then one line per row of ``queryset``, ordered by key,
        handed on in blocks of about ``BLOCK_CHARS`` (a server passes each
        block on as one write)."""
        writer = csv.writer(_Echo())
        shows = [column.show for column in self.columns]
        if queryset.query.distinct:
            # A search across relations may match a row twice: select the keys
            # once, then read plain rows of exactly those keys.
            queryset = queryset.model._default_manager.filter(
                pk__in=queryset.order_by().values("pk")
            )
        rows = (
            queryset.order_by("pk")
            .values_list(*(column.field for column in self.columns))
            .iterator(chunk_size=CHUNK_SIZE)
        )
        block = [writer.writerow([column.header for column in self.columns])]
        size = len(block[0])
        # The cursor lives in one transaction (closed with it, even when the
        # client goes away mid-stream): no WITH HOLD cursor outliving it, so
        # this also works behind a pooler in transaction mode.
        with transaction.atomic(using=queryset.db):
            try:
                for row in rows:
                    line = writer.writerow(
                        [show(value) for show, value in zip(shows, row, strict=True)]
                    )
                    block.append(line)
                    size += len(line)
                    if size >= BLOCK_CHARS:
                        yield "".join(block)
                        block, size = [], 0
            finally:
                rows.close()  # the cursor, before its transaction ends
        yield "".join(block)

    def response(self, queryset: QuerySet) -> StreamingHttpResponse:
        response = StreamingHttpResponse(self.lines(queryset), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{self.filename}"'
        return response

    def action(self):
        """The admin action exporting the ticked rows."""

        @admin.action(
            description=format_lazy(
                _("Export selected as CSV ({filename})"), filename=self.filename
            ),
            permissions=["export"],
        )
        def export(modeladmin, request, queryset):
            return self.response(queryset)

        export.__name__ = f"export_{self.filename.split('.')[0]}"
        return export


def may_export(modeladmin: admin.ModelAdmin, request) -> bool:
    """Whether this staff member may export the list: the one place that decides,
    for the action and the button alike. Exporting takes the rows out of the
    back office, so it needs its own permission (``couponsite.export_csv``,
    the Analyst role's; ``couponsite.roles``) besides seeing the list."""
    return modeladmin.has_view_permission(request) and request.user.has_perm(
        "couponsite.export_csv"
    )


class _MatchingRows(ChangeList):
    """The list's filters, date drill-down and search without its page: no
    count, no page of results."""

    def get_results(self, request) -> None:
        pass


class CsvExportMixin:
    """A model admin whose list exports as ``csv_export``: the "Export all
    matching (CSV)" button over the list (``<app>_<model>_export``), and the
    "Export selected" action (list ``csv_export.action()`` in ``actions``)."""

    csv_export: CsvExport
    change_list_template = "admin/csv_export_change_list.html"

    def has_export_permission(self, request) -> bool:
        return may_export(self, request)

    def get_urls(self):
        opts = self.model._meta
        return [
            path(
                "export/",
                self.admin_site.admin_view(self.export_view),
                name=f"{opts.app_label}_{opts.model_name}_export",
            ),
            *super().get_urls(),
        ]

    def get_changelist(self, request, **kwargs):
        if getattr(request, "_csv_export_all", False):
            return _MatchingRows
        return super().get_changelist(request, **kwargs)

    def export_view(self, request):
        """Every row the list shows under the same query string, as CSV."""
        if not may_export(self, request):
            raise PermissionDenied
        request._csv_export_all = True
        try:
            matching = self.get_changelist_instance(request).queryset
        except IncorrectLookupParameters:
            return HttpResponseBadRequest(
                gettext("Unknown filter in the query string (code INVALID_FILTER)."),
                content_type="text/plain",
            )
        return self.csv_export.response(matching)

    def changelist_view(self, request, extra_context=None):
        if may_export(self, request):
            opts = self.model._meta
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_export"
            )
            query = request.GET.copy()
            query.pop("p", None)  # the page: every matching row is exported
            extra_context = {
                **(extra_context or {}),
                "csv_export_url": f"{url}?{query.urlencode()}" if query else url,
            }
        return super().changelist_view(request, extra_context)
