"""Admin actions, and buttons on a row's page, that ask the staff member why
before acting."""

from collections.abc import Callable, Iterable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from couponsite.errors import DomainError

RECORDED_WITH_WHO = _("Recorded in the history, with who did it.")


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


def reason_action(
    *,
    name: str,
    description: str,
    apply: Callable[..., object],
    target: str,
    done: str,
    help_text: str = RECORDED_WITH_WHO,
    permissions: Iterable[str] | None = None,
):
    """An admin action that first asks for a reason, then calls the service
    ``apply(<target>=row, acting_user=request.user, reason=reason)`` for each
    selected row, e.g. ``apply=voucher_void, target="voucher"``.

    Each row is its own service call (its own transaction): a refused one
    (``DomainError``) is reported and changes nothing, the others go ahead.
    """

    @admin.action(description=description, permissions=permissions)
    def action(modeladmin, request, queryset):
        if "apply" in request.POST:
            form = ReasonForm(request.POST)
            if form.is_valid():
                ok, failed = _apply_each(
                    modeladmin,
                    request,
                    queryset,
                    apply=apply,
                    target=target,
                    reason=form.cleaned_data["reason"],
                )
                modeladmin.message_user(
                    request,
                    gettext("%(done)s: %(ok)d; refused: %(failed)d.")
                    % {"done": done, "ok": ok, "failed": failed},
                )
                return None
        else:
            form = ReasonForm()
        form.fields["reason"].help_text = help_text
        return TemplateResponse(
            request,
            "admin/action_reason.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": description,
                "form": form,
                "queryset": queryset,
                "action": request.POST["action"],
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": modeladmin.model._meta,
            },
        )

    action.__name__ = name
    return action


def reason_page(
    modeladmin,
    request,
    obj,
    *,
    description: str,
    apply: Callable[..., object],
    target: str,
    done: str,
    back_url: str,
    help_text: str = RECORDED_WITH_WHO,
):
    """What ``reason_action`` does, for one row from a button on its page: asks
    for a reason (GET), then calls ``apply(<target>=obj, acting_user=…,
    reason=…)`` and goes ``back_url`` (POST). The caller checks permissions."""
    form = ReasonForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        ok, _ = _apply_each(
            modeladmin,
            request,
            [obj],
            apply=apply,
            target=target,
            reason=form.cleaned_data["reason"],
        )
        if ok:
            modeladmin.message_user(
                request,
                gettext("%(done)s: %(object)s.") % {"done": done, "object": obj},
            )
        return HttpResponseRedirect(back_url)
    form.fields["reason"].help_text = help_text
    return TemplateResponse(
        request,
        "admin/action_reason.html",
        {
            **modeladmin.admin_site.each_context(request),
            "title": description,
            "form": form,
            "queryset": [obj],
            "cancel_url": back_url,
            "opts": modeladmin.model._meta,
        },
    )


def _apply_each(
    modeladmin, request, objects, *, apply, target: str, reason: str
) -> tuple[int, int]:
    """Each row is its own service call (its own transaction): a refused one
    (``DomainError``) is reported and changes nothing, the others go ahead."""
    ok = failed = 0
    for obj in objects:
        try:
            apply(**{target: obj}, acting_user=request.user, reason=reason)
            ok += 1
        except DomainError as exc:
            failed += 1
            modeladmin.message_user(request, f"{obj}: {exc.detail}", messages.WARNING)
    return ok, failed
