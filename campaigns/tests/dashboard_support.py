"""Reading the admin's dashboards in tests: each figure is marked ``data-figure``."""

import re

from django.urls import reverse


def admin_figures(html: str) -> dict:
    """``{name: value}`` of every ``data-figure`` in ``html`` (digits as int)."""
    return {
        name: int(value) if value.isdigit() else value
        for name, value in re.findall(r'data-figure="(\w+)">([^<]*)<', html)
    }


def dashboard_url(campaign) -> str:
    return reverse("admin:campaigns_campaign_dashboard", args=[campaign.pk])


def dashboard(client, campaign) -> dict:
    """The figures of ``campaign``'s dashboard fragment, as staff ``client`` sees them."""
    response = client.get(dashboard_url(campaign))
    assert response.status_code == 200, response.status_code
    return admin_figures(response.content.decode())
