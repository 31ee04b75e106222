"""Domain errors carry codes; ``STATUS_BY_CODE`` alone gives them HTTP statuses."""

import importlib
import logging
import pkgutil

import pytest
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from couponsite.api.exceptions import STATUS_BY_CODE, exception_handler
from couponsite.errors import DomainError

APPS = ("couponsite", "customers", "campaigns", "vouchers", "draws")
# Modules that build an application or configure one, rather than define code.
NOT_LIBRARY = (".settings", ".wsgi", ".asgi")


def _product_modules() -> list[str]:
    names = []
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            name = module.name
            if ".tests" in name or ".migrations" in name or name.endswith(NOT_LIBRARY):
                continue
            names.append(name)
    return names


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def _product_errors() -> set[type[DomainError]]:
    """Every DomainError subclass the product defines (test-only ones left out)."""
    for name in _product_modules():
        importlib.import_module(name)
    return {
        cls
        for cls in _subclasses(DomainError)
        if cls.__module__.split(".")[0] in APPS and ".tests" not in cls.__module__
    }


def test_every_domain_error_has_an_http_status():
    errors = _product_errors()

    unmapped = sorted(
        f"{cls.__module__}.{cls.__qualname__} ({getattr(cls, 'code', None)!r})"
        for cls in errors
        if getattr(cls, "code", None) not in STATUS_BY_CODE
    )
    assert not unmapped, "codes missing from STATUS_BY_CODE: " + ", ".join(unmapped)
    # The walk reached the errors of every layer (no module left unimported).
    assert {"NOT_FOUND", "ALREADY_DRAWN_TODAY", "HOLD_EXPIRED", "OTP_INVALID"} <= {
        cls.code for cls in errors
    }


def test_every_mapped_code_belongs_to_an_error():
    codes = {cls.code for cls in _product_errors()}

    assert set(STATUS_BY_CODE) - codes == set()


def test_no_domain_error_names_an_http_status():
    speaking_http = sorted(
        cls.__qualname__
        for cls in _product_errors()
        if {"status_code", "status", "http_status"} & set(vars(cls))
    )

    assert speaking_http == []


class Unmapped(DomainError):
    code = "NOT_IN_THE_TABLE"


def test_an_error_without_a_status_is_left_to_the_500_handler(log_records):
    records = log_records("couponsite.api.exceptions")

    answer = exception_handler(Unmapped(), {})

    assert answer is None  # DRF re-raises it: a logged 500, never a guessed 400
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.ERROR, "no HTTP status for error code 'NOT_IN_THE_TABLE'")
    ]


class RefusingApi(APIView):
    authentication_classes = []
    permission_classes = []

    def get(self, request):
        raise Unmapped()


def test_a_view_raising_an_unmapped_error_fails_loudly():
    request = APIRequestFactory().get("/refuse")

    with pytest.raises(Unmapped):  # re-raised by DRF: Django answers 500
        RefusingApi.as_view()(request)


def test_a_mapped_error_answers_its_status_code_and_retry_after():
    class Later(DomainError):
        code = "ALREADY_DRAWN_TODAY"

    answer = exception_handler(Later("Come back tomorrow.", retry_after=90.2), {})

    assert answer.status_code == 429
    assert answer.data == {
        "code": "ALREADY_DRAWN_TODAY",
        "detail": "Come back tomorrow.",
    }
    assert answer["Retry-After"] == "91"
