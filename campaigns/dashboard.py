"""The campaign page's dashboard: the fragment the page shows and refreshes.

The figures come from ``campaigns.figures.campaign_dashboard`` (computed by
the app that runs the campaigns); each kind's part has its own template, named
by the dashboard. ``dashboard_view`` answers the page's script
(``campaigns/static/campaigns/dashboard.js``), which asks again every few
seconds while the campaign runs.
"""

from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from campaigns.figures import campaign_dashboard
from campaigns.models import Campaign

URL_NAME = "campaigns_campaign_dashboard"


def dashboard_html(campaign: Campaign) -> str:
    """The dashboard fragment of ``campaign`` (safe HTML)."""
    return render_to_string(
        "admin/campaigns/dashboard.html",
        {
            "d": campaign_dashboard(campaign),
            "url": reverse(f"admin:{URL_NAME}", args=[campaign.pk]),
        },
    )


def dashboard_with_assets(campaign: Campaign) -> str:
    """The fragment as the campaign page first shows it, with its style and the
    script that refreshes it (no inline script: a static file, loaded once)."""
    return format_html(
        '<link rel="stylesheet" href="{}">{}<script src="{}" defer></script>',
        static("campaigns/dashboard.css"),
        dashboard_html(campaign),
        static("campaigns/dashboard.js"),
    )


def dashboard_view(model_admin, request, object_id: str) -> HttpResponse:
    """The fragment alone, for staff who may view the campaign (wrapped in
    ``admin_view``, which sends anyone else to the login page)."""
    campaign = model_admin.get_object(request, unquote(object_id))
    if campaign is None:
        raise Http404("No such campaign.")
    if not model_admin.has_view_permission(request, campaign):
        raise PermissionDenied
    response = HttpResponse(dashboard_html(campaign))
    response["Cache-Control"] = "no-store"
    return response
