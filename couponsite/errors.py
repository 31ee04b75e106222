"""Domain errors: a business rule said no.

Services and selectors raise ``DomainError`` subclasses; each carries a stable
upper-snake ``code``, a human ``detail`` and, when the refusal knows when to
come back, ``retry_after`` (seconds). They know nothing of HTTP:
``couponsite.api.exceptions`` maps each code to its status, in one table.
"""

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """Subclasses set ``code`` and ``detail``.

    A subclass that is raised with ``retry_after`` sets ``sends_retry_after``,
    so the API's schema can say which answers carry it.
    """

    code: str
    detail: str = _("The request was refused.")
    sends_retry_after: bool = False

    def __init__(self, detail: str | None = None, *, retry_after: float | None = None):
        self.detail = detail or self.detail
        self.retry_after = retry_after
        super().__init__(self.detail)


class NotFound(DomainError):
    """What was asked for does not exist, or not for this caller (they look alike)."""

    code = "NOT_FOUND"
    detail = _("Not found.")
