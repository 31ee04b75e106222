"""A customer's story on their admin page: panels of their rows, newest first.

What a customer did (vouchers, draws, claims, reservations, grabs) belongs to
the apps above this one, which customers must not import. So, like a rush's
days on the campaign page (``CampaignAdmin.add_kind_inline``), each app hands
its panel over when its admin module loads: ``CustomerAdmin.add_story_panel``.

Every panel costs one query of at most ``STORY_ROWS + 1`` rows, however long
the customer's history; "all N…" links to the full list, filtered to them.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import display_for_value
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

STORY_ROWS = 10


@dataclass(frozen=True)
class StoryPanel:
    """One panel: ``title``, the rows of ``model`` that ``lookups(customer)``
    selects (the same lookups filter the full list's page), shown as
    ``columns`` (header, row → text or safe HTML); the first cell links to the
    row's admin page. Panels are shown by ``position``, to staff who may view
    ``model``."""

    title: str
    model: type[models.Model]
    lookups: Callable[[models.Model], dict[str, object]]
    columns: Sequence[tuple[str, Callable[[models.Model], object]]]
    position: int = 50
    select_related: Sequence[str] = ()
    ordering: Sequence[str] = ("-created_at", "-pk")


def admin_link(obj: models.Model | None, text: object = None):
    """``text`` (default: the row) linked to the row's admin page; empty for None."""
    if obj is None:
        return ""
    opts = obj._meta
    try:
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return str(obj if text is None else text)
    return format_html('<a href="{}">{}</a>', url, obj if text is None else text)


def _shown(value) -> str:
    """A cell as the admin shows a value: local times, "-" for nothing."""
    return display_for_value(value, "-")


def customer_story(
    panels: Sequence[StoryPanel],
    customer: models.Model,
    request,
    site: admin.AdminSite,
) -> list[dict]:
    """The panels this staff member may see, each with its latest rows."""
    story = []
    for panel in sorted(panels, key=lambda panel: panel.position):
        model_admin = site._registry.get(panel.model)
        if model_admin is None or not model_admin.has_view_permission(request):
            continue
        lookups = panel.lookups(customer)
        first, *rest = (cell for _, cell in panel.columns)
        rows = panel.model._default_manager.filter(**lookups)
        if panel.select_related:
            rows = rows.select_related(*panel.select_related)
        rows = list(rows.order_by(*panel.ordering)[: STORY_ROWS + 1])
        opts = panel.model._meta
        story.append(
            {
                "title": panel.title,
                "headers": [header for header, _ in panel.columns],
                "rows": [
                    [
                        admin_link(row, _shown(first(row))),
                        *(_shown(cell(row)) for cell in rest),
                    ]
                    for row in rows[:STORY_ROWS]
                ],
                "more": len(rows) > STORY_ROWS,
                "full_list": reverse(
                    f"{site.name}:{opts.app_label}_{opts.model_name}_changelist"
                )
                + "?"
                + urlencode(lookups),
            }
        )
    return story
