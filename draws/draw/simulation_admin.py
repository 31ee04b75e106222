"""The back office's "Simulate" page of a draw campaign: a form of assumptions
(participants, hourly profile, cost and redemption per coupon type, runs), and
the simulation's table under it (``draws.draw.selectors.draw_simulate``).

The root URLconf includes this module by name under the campaign's admin page
(``/admin/campaigns/campaign/<id>/simulate/``); the change form links to it
for staff who may change the campaign. The form is sent with GET: a
simulation changes nothing, and its address can be shared.
"""

import datetime as dt
import re
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.dateformat import format as format_date
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, CouponType
from draws.draw.selectors import (
    SEED_MAX,
    TypeAssumption,
    default_cost,
    draw_simulate,
    simulation_errors,
    simulation_types,
)
from draws.draw.simulation import (
    DEFAULT_RUNS,
    MAX_COST,
    MAX_PARTICIPANTS_PER_DAY,
    MAX_RUNS,
    SimulationTooLarge,
)

_NUMBERS = re.compile(r"[\s,;]+")


def _numbers(text: str, *, field: str, most: int) -> list[int]:
    """Whole numbers from text separated by spaces, commas or new lines."""
    try:
        values = [int(part) for part in _NUMBERS.split(text.strip()) if part]
    except ValueError:
        raise forms.ValidationError(
            gettext("%(field)s: whole numbers, separated by commas or spaces.")
            % {"field": field}
        ) from None
    if any(not 0 <= value <= most for value in values):
        raise forms.ValidationError(
            gettext("%(field)s: each between 0 and %(most)s.")
            % {"field": field, "most": f"{most:,}"}
        )
    return values


class SimulationForm(forms.Form):
    participants_per_day = forms.IntegerField(
        label=_("Participants per day"),
        min_value=0,
        max_value=MAX_PARTICIPANTS_PER_DAY,
        required=False,
        help_text=_("Customers drawing on a full local day…"),
    )
    participants_by_day = forms.CharField(
        label=_("Participants by day"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("…or one number per local day, first to last (commas or spaces)."),
    )
    hourly_profile = forms.CharField(
        label=_("Hourly profile"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_(
            "Optional: 24 relative weights, local hours 00 to 23 "
            "(empty: evenly over the day)."
        ),
    )
    redemption_rate = forms.DecimalField(
        label=_("Redemption rate"),
        min_value=0,
        max_value=1,
        decimal_places=4,
        initial=Decimal(1),
        help_text=_("Share of won coupons redeemed (0 to 1), unless a type says."),
    )
    runs = forms.IntegerField(
        label=_("Runs"), min_value=1, max_value=MAX_RUNS, initial=DEFAULT_RUNS
    )
    seed = forms.IntegerField(
        label=_("Seed"),
        min_value=0,
        max_value=SEED_MAX,
        required=False,
        help_text=_("Optional: the same seed gives the same table."),
    )

    def __init__(self, *args, campaign: Campaign, types: list[CouponType], **kwargs):
        super().__init__(*args, **kwargs)
        self.campaign, self.types = campaign, types
        for coupon_type in types:
            cost = default_cost(coupon_type)
            self.fields[f"cost_{coupon_type.pk}"] = forms.DecimalField(
                label=gettext("Cost of a redeemed “%(name)s”")
                % {"name": coupon_type.name},
                min_value=0,
                max_value=MAX_COST,
                decimal_places=2,
                required=False,
                # Left empty, the amount applies (and the currency is known).
                widget=forms.NumberInput(
                    attrs={"placeholder": "" if cost is None else f"{cost}"}
                ),
                help_text=(
                    gettext("Empty: its amount (%(cost)s %(currency)s).")
                    % {"cost": cost, "currency": coupon_type.currency}
                    if cost is not None
                    else gettext("Required: %(benefit)s has no money value.")
                    % {"benefit": coupon_type.benefit_text}
                ),
            )
            self.fields[f"rate_{coupon_type.pk}"] = forms.DecimalField(
                label=gettext("Redemption rate of “%(name)s”")
                % {"name": coupon_type.name},
                min_value=0,
                max_value=1,
                decimal_places=4,
                required=False,
                help_text=gettext("Empty: the rate above."),
            )

    def type_fields(self):
        """(type, its cost field, its rate field), for the template."""
        return [(t, self[f"cost_{t.pk}"], self[f"rate_{t.pk}"]) for t in self.types]

    def clean_participants_by_day(self) -> list[int] | None:
        text = self.cleaned_data["participants_by_day"]
        if not text.strip():
            return None
        return _numbers(
            text,
            field=gettext("Participants by day"),
            most=MAX_PARTICIPANTS_PER_DAY,
        )

    def clean_hourly_profile(self) -> list[int] | None:
        text = self.cleaned_data["hourly_profile"]
        if not text.strip():
            return None
        weights = _numbers(text, field=gettext("Hourly profile"), most=1_000_000)
        if len(weights) != 24:
            raise forms.ValidationError(
                gettext("Hourly profile: 24 weights, one per hour, not %(count)s.")
                % {"count": len(weights)}
            )
        if not any(weights):
            raise forms.ValidationError(
                gettext("Hourly profile: at least one hour needs weight.")
            )
        return weights

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        per_day = cleaned.get("participants_per_day")
        by_day = cleaned.get("participants_by_day")
        if (per_day is None) == (by_day is None):
            raise forms.ValidationError(
                gettext(
                    "Give participants per day, or one number per day: one of the two."
                )
            )
        cleaned["assumptions"] = {
            t.pk: TypeAssumption(
                cost=cleaned.get(f"cost_{t.pk}"),
                redemption_rate=cleaned.get(f"rate_{t.pk}"),
            )
            for t in self.types
        }
        errors = simulation_errors(
            self.campaign,
            types=self.types,
            participants_by_day=by_day,
            assumptions=cleaned["assumptions"],
        )
        for field, messages in errors.items():
            for message in messages:
                self.add_error(None if field == "coupon_types" else field, message)
        return cleaned

    def simulate(self) -> dict:
        data = self.cleaned_data
        return draw_simulate(
            campaign=self.campaign,
            types=self.types,
            participants_per_day=data["participants_per_day"],
            participants_by_day=data["participants_by_day"],
            hourly_profile=data["hourly_profile"],
            assumptions=data["assumptions"],
            redemption_rate=data["redemption_rate"],
            runs=data["runs"],
            seed=data["seed"],
        )


def _moment(iso: str | None) -> str:
    """A run-out moment for people: "Tue 01 Dec 09:00" (local, as simulated;
    the day and month names in the page's language)."""
    if iso is None:
        return "—"
    return format_date(dt.datetime.fromisoformat(iso), "D d M H:i")


def _run_out(out: dict | None) -> str:
    if out is None:
        return gettext("no quota")
    if not out["share"]:
        return gettext("never")
    return gettext("%(share)s of runs, median %(at)s") % {
        "share": f"{out['share']:.0%}",
        "at": _moment(out["median_at"]),
    }


def result_rows(result: dict) -> dict:
    """The simulation as the page's tables: per type, per day and type."""
    types = result["coupon_types"]
    return {
        "types": [
            {**t, "total_runs_out": _run_out(t["total_quota_runs_out"])} for t in types
        ],
        "days": [
            {
                "day": day["day"],
                "participants": day["expected_participants"],
                "cells": [
                    {
                        **t["days"][d],
                        "runs_out": _run_out(t["days"][d]["daily_quota_runs_out"]),
                    }
                    for t in types
                ],
            }
            for d, day in enumerate(result["days"])
        ],
    }


def simulate_view(request: HttpRequest, object_id: int) -> HttpResponse:
    """Staff who may change the campaign fill in the form; the table follows."""
    campaign = get_object_or_404(Campaign, pk=object_id)
    model_admin = admin.site.get_model_admin(Campaign)
    if not model_admin.has_change_permission(request, campaign):
        raise PermissionDenied
    if campaign.kind != Campaign.Kind.DRAW:
        return HttpResponseBadRequest(
            gettext("Only lucky draw campaigns can be simulated."),
            content_type="text/plain",
        )
    types = simulation_types(campaign)
    asked = "runs" in request.GET
    form = SimulationForm(
        request.GET if asked else None, campaign=campaign, types=types
    )
    result = None
    if asked and form.is_valid():
        try:
            result = form.simulate()
        except SimulationTooLarge as exc:
            form.add_error("runs", exc.detail)
    context = {
        **admin.site.each_context(request),
        "opts": Campaign._meta,
        "original": campaign,
        "title": gettext("Simulate: %(campaign)s") % {"campaign": campaign},
        "form": form,
        "result": result,
        "rows": result_rows(result) if result else None,
    }
    return TemplateResponse(request, "admin/campaigns/campaign/simulate.html", context)


urlpatterns = [
    path("", admin.site.admin_view(simulate_view), name="campaign-simulate"),
]
