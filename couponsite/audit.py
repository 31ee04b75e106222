"""The audit log of back-office actions (``AuditEntry``): one row per action, written
in the action's own transaction.

Vouchers are not recorded here: their history (``VoucherEvent``) already names
who acted and why. Action codes read ``<noun>.<what happened>``, e.g.
``campaign.created``, ``campaign.status_changed``, ``coupon_type.odds_changed``,
``release.created``, ``customer.changed``.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.db import models, router, transaction
from django.db.models import Field
from django.utils import translation

from couponsite.models import AuditEntry

Changes = dict[str, list[Any]]


class AuditOutsideTransaction(RuntimeError):
    """An audit row must commit or roll back with its action."""


def audit_record(
    *,
    acting_user: AbstractBaseUser | None,
    action: str,
    target: models.Model,
    reason: str = "",
    changes: Changes | None = None,
) -> AuditEntry:
    """Record that ``acting_user`` did ``action`` to ``target`` (saved, with a pk).

    Must run inside the action's transaction (``AuditOutsideTransaction``
    otherwise): the row commits with the action, and a refused or failed action
    leaves no row. ``acting_user`` is None when no person is known (a
    management command, the demo data). The target's name is kept in the site's
    language (``LANGUAGE_CODE``), whichever language the employee reads: one
    log, searchable by one name.
    """
    using = router.db_for_write(AuditEntry)
    if not transaction.get_connection(using).in_atomic_block:
        raise AuditOutsideTransaction(
            f"audit_record({action!r}) must run in the transaction of its action."
        )
    with translation.override(settings.LANGUAGE_CODE):
        target_repr = str(target)[:200]
    return AuditEntry.objects.using(using).create(
        acting_user=acting_user,
        action=action,
        target_type=ContentType.objects.get_for_model(target, for_concrete_model=False),
        target_id=str(target.pk),
        target_repr=target_repr,
        reason=reason,
        changes=changes or {},
    )


def audited_fields(model: type[models.Model]) -> list[Field]:
    """The fields whose changes are recorded: stored, editable, not the primary key
    (counters a service keeps, like a coupon type's ``issued_total``, are not
    editable and so not listed)."""
    return [
        field
        for field in model._meta.concrete_fields
        if field.editable and not field.primary_key
    ]


def field_values(obj: models.Model) -> dict[str, Any]:
    """The audited fields of ``obj`` as it is in memory (a relation as its id)."""
    return {
        field.name: field.value_from_object(obj) for field in audited_fields(type(obj))
    }


def stored_values(obj: models.Model) -> dict[str, Any]:
    """The audited fields of ``obj``'s row as stored, locked until the transaction
    ends so that the values recorded as "old" are the ones the save replaces."""
    model = type(obj)
    names = [field.name for field in audited_fields(model)]
    return (
        model._default_manager.select_for_update()
        .filter(pk=obj.pk)
        .values(*names)
        .get()
    )


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """``{field: [old, new]}`` for each field whose value differs. When one side
    is empty (a new object, or a deleted one), the fields set on the other."""
    changes = {}
    for name in dict.fromkeys([*after, *before]):
        old, new = before.get(name), after.get(name)
        if name in before and name in after:
            differs = old != new
        else:
            differs = (new if name in after else old) not in (None, "")
        if differs:
            changes[name] = [old, new]
    return changes


def changes_split(
    changes: Changes, groups: dict[str, set[str]], rest: str
) -> dict[str, Changes]:
    """Changes grouped under the action that names them: ``groups`` maps an action
    to its fields (e.g. ``"coupon_type.odds_changed": {"probability"}``); fields
    in no group go under ``rest``. Actions without changes are left out."""
    split: dict[str, Changes] = {}
    for name, change in changes.items():
        action = next((a for a, fields in groups.items() if name in fields), rest)
        split.setdefault(action, {})[name] = change
    return split


ERASED_VALUE = "(erased)"


def audit_erase(
    *, targets: list[models.Model], fields: set[str], target_repr: str
) -> int:
    """Take personal data out of what the logs recorded about ``targets`` (an
    erased customer and their tokens): in every entry about one of them, the
    values of ``fields`` become "(erased)" and the target reads ``target_repr``;
    the same for the admin's own log (``LogEntry``). Who acted, when, what and
    why stay. How many audit entries changed."""
    from django.contrib.admin.models import LogEntry

    changed = 0
    for model, objects in _by_model(targets).items():
        content_type = ContentType.objects.get_for_model(
            model, for_concrete_model=False
        )
        ids = [str(obj.pk) for obj in objects]
        entries = AuditEntry.objects.filter(target_type=content_type, target_id__in=ids)
        for entry in entries.select_for_update():
            entry.target_repr = target_repr[:200]
            entry.changes = {
                name: [ERASED_VALUE for _ in values]
                if name in fields and isinstance(values, list)
                else values
                for name, values in (entry.changes or {}).items()
            }
            entry.save(update_fields=["target_repr", "changes"])
            changed += 1
        LogEntry.objects.filter(content_type=content_type, object_id__in=ids).update(
            object_repr=target_repr[:200]
        )
    return changed


def _by_model(targets: list[models.Model]) -> dict[type, list[models.Model]]:
    grouped: dict[type, list[models.Model]] = {}
    for target in targets:
        grouped.setdefault(type(target), []).append(target)
    return grouped
