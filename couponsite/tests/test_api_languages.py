"""The API's error texts in both Chinese (issue 16): "a customer with
Accept-Language: zh-Hant gets every error in Traditional Chinese", and "a test
fails if a customer-facing string is not marked for translation".

Three nets, each catching what the others cannot:

- a scan of the code: every text given to an error (DRF's, Django's
  ``ValidationError``, a ``DomainError``), a validator's ``message``, an
  ``error_messages`` entry, a permission's ``message`` or an error body is a
  gettext call, not a plain string or f-string;
- DRF's own texts: every error message of every field of our serializers, and
  of each DRF error the handler answers, is translated (DRF's zh_Hant catalogue
  misses some; ``couponsite/library_texts.py`` marks those for ours);
- bad requests, one per kind of refusal we can reach, answered in zh-hant
  with Chinese texts and no English sentence, with the code and status the
  same request gets in English, and a ``Content-Language`` saying so.
"""

import ast
import asyncio
import datetime as dt
import importlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import translation
from rest_framework import exceptions, serializers
from rest_framework.utils.formatting import lazy_format

from campaigns.models import Campaign
from campaigns.tests.factories import CampaignFactory, CouponTypeFactory
from couponsite.api.exceptions import _DRF_CODES
from couponsite.errors import DomainError
from couponsite.server.router import respond
from couponsite.server.wsgi import _too_large
from vouchers.tests.factories import VoucherFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "couponsite",
    "campaigns",
    "customers",
    "draws",
    "vouchers",
    "messaging",
    "webhooks",
)
CHINESE = ("zh-hant", "zh-hans")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Three English words in a row: a sentence left untranslated. Field names,
# codes and values (participants_per_day, HKD, Asia/Hong_Kong) are single words.
ENGLISH = re.compile(r"\b[A-Za-z]{2,}\s+[A-Za-z]{2,}\s+[A-Za-z]{2,}\b")


# --- The scan: texts given to errors are marked ---------------------------------------

# What marks a text for translation (``_`` being gettext_lazy or gettext).
_MARKS = {
    "_",
    "gettext_noop",  # translated where it is answered (the server's own)
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "format_lazy",
}
# Who turns an error's text into an answer: its class's text is the answer's.
_ERRORS = (exceptions.APIException, DjangoValidationError, DomainError)
# Class attributes holding an answer's text: a permission's ``message``, an
# error's ``detail``, a field's ``default_error_messages``.
_TEXT_ATTRIBUTES = {"message", "detail", "default_detail", "default_error_messages"}
# Keyword arguments holding one: a validator's ``message``, a field's
# ``error_messages``, an error's ``detail``.
_TEXT_KEYWORDS = {"message", "error_messages", "detail"}
# Functions building an error body from (code, detail).
_BODY_BUILDERS = {"error_body", "respond"}

# The back office's own (its forms and admin pages) is the back office tests'.
_BACK_OFFICE = re.compile(r"(^|/)(admin[^/]*|forms|simulation_admin)\.py$")


def _marked(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        name = getattr(func, "id", None) or getattr(func, "attr", None)
        if name in _MARKS:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "format":
            return _marked(func.value)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _marked(node.left)
    return False


def _plain(node: ast.AST, constants: set[str]) -> bool:
    """A text for people that is not marked: a string, an f-string, a module
    constant holding one, ``str(exc)``, or a dict or list holding one."""
    if _marked(node):
        return False
    match node:
        case ast.Constant(value=str()) | ast.JoinedStr():
            return True
        case ast.BinOp(left=left, right=right):
            return _plain(left, constants) or _plain(right, constants)
        case ast.Call(func=ast.Attribute(attr="format", value=value)):
            return _plain(value, constants)
        case ast.Call(func=ast.Name(id="str"), args=[ast.Name()]):
            return True  # str(exc): an exception's own (English) words
        case ast.Name(id=name):
            return name in constants
        case ast.Dict(values=values):
            return any(_plain(value, constants) for value in values)
        case ast.List(elts=items) | ast.Tuple(elts=items) | ast.Set(elts=items):
            return any(_plain(item, constants) for item in items)
        case ast.ListComp(elt=item):
            return _plain(item, constants)
    return False


def _resolve(node: ast.AST, names: dict):
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, names)
        return None if owner is None else getattr(owner, node.attr, None)
    return None


def unmarked_texts(source: str, names: dict) -> list[tuple[int, str]]:
    """(line, code) of each text given to an error unmarked in ``source``;
    ``names``: the module's globals, to tell an error class by what it is."""
    tree = ast.parse(source)
    constants = {
        target.id
        for statement in tree.body
        if isinstance(statement, ast.Assign) and _plain(statement.value, set())
        for target in statement.targets
        if isinstance(target, ast.Name)
    }
    texts = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called = _resolve(node.func, names)
            if isinstance(called, type) and issubclass(called, _ERRORS):
                texts += node.args[:1]
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in _BODY_BUILDERS:
                texts += node.args[-1:] if name == "error_body" else node.args[3:4]
            texts += [k.value for k in node.keywords if k.arg in _TEXT_KEYWORDS]
        elif isinstance(node, ast.ClassDef):
            texts += [
                statement.value
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and any(
                    getattr(target, "id", None) in _TEXT_ATTRIBUTES
                    for target in statement.targets
                )
            ]
    return sorted(
        (text.lineno, ast.unparse(text)) for text in texts if _plain(text, constants)
    )


def _modules() -> list[tuple[str, str]]:
    """(dotted name, path) of every module of the apps that can answer a
    request: not tests, migrations, commands or the back office."""
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if re.search(r"/(tests|migrations|management|testing)/", relative):
                continue
            if _BACK_OFFICE.search(relative) or path.name in ("__main__.py",):
                continue
            name = relative.removesuffix(".py").replace("/", ".")
            found.append((name.removesuffix(".__init__"), relative))
    return found


def test_every_text_given_to_an_error_is_marked_for_translation():
    unmarked = []
    for name, path in _modules():
        names = vars(importlib.import_module(name))
        for line, code in unmarked_texts((ROOT / path).read_text(), names):
            unmarked.append(f"{path}:{line}: {code}")

    assert not unmarked, "not marked for translation:\n" + "\n".join(unmarked)


def test_the_scan_finds_unmarked_texts():
    """The scan itself: each way of giving an error a plain text is found, and
    the marked ones are not."""
    source = """
NO_COMMAS = "No commas."
class IsStaff(BasePermission):
    message = "Only staff may do this."
class Marked(BasePermission):
    message = _("Only staff may do this.")
class Field(serializers.CharField):
    default_error_messages = {"invalid": "Not a valid string."}
def validate(value, exc, low):
    serializers.ValidationError({"amount": [f"At least {low}."]})
    serializers.ValidationError(str(exc))
    serializers.ValidationError(NO_COMMAS)
    DjangoValidationError("Enter a phone number.", code="invalid_phone")
    NotFound("No such campaign.")
    RegexValidator(r"^[^,]*$", message="No commas.")
    error_body("NOT_FOUND", "No such route.")
    serializers.ValidationError(gettext("At least %(low)s.") % {"low": low})
    serializers.ValidationError({"amount": [_("No commas.")]})
    ValueError("not for people")
"""
    names = {
        "serializers": serializers,
        "DjangoValidationError": DjangoValidationError,
        "NotFound": exceptions.NotFound,
    }

    found = [line for line, _code in unmarked_texts(source, names)]

    assert found == [4, 8, 10, 11, 12, 13, 14, 15, 16]


# --- DRF's own texts -------------------------------------------------------------------


def _project_serializers() -> list[type[serializers.BaseSerializer]]:
    for name, _path in _modules():
        importlib.import_module(name)
    found, seen = [], set()
    stack = [serializers.BaseSerializer]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                stack.append(sub)
                if sub.__module__.split(".")[0] in APPS:
                    found.append(sub)
    return sorted(found, key=lambda cls: (cls.__module__, cls.__qualname__))


def _field_texts(field, path: str, into: dict) -> None:
    if field.read_only:  # answers only: nothing to refuse
        return
    for key, text in field.error_messages.items():
        into.setdefault(text, f"{path}.error_messages[{key}]")
    for validator in getattr(field, "validators", []):
        if (message := getattr(validator, "message", None)) is not None:
            into.setdefault(message, f"{path}.{type(validator).__name__}")
    if isinstance(field, serializers.Serializer):
        for name, child in field.fields.items():
            _field_texts(child, f"{path}.{name}", into)
    if (child := getattr(field, "child", None)) is not None:
        _field_texts(child, f"{path}[]", into)


def _drf_texts() -> dict:
    """Every error text the API's fields and DRF's errors can answer, by where."""
    texts = {}
    for cls in _project_serializers():
        _field_texts(cls(), f"{cls.__module__}.{cls.__qualname__}", texts)
    for error in _DRF_CODES:
        if error is not exceptions.Throttled:  # ours is RATE_LIMITED (RateLimited)
            texts.setdefault(error.default_detail, error.__name__)
    return texts


@pytest.mark.parametrize("language", CHINESE)
def test_every_error_text_of_the_apis_fields_is_translated(language):
    untranslated = []
    for text, where in _drf_texts().items():
        if isinstance(text, lazy_format):  # which keeps its first answer
            text = text.format_string
        with translation.override("en"):
            english = str(text)
        with translation.override(language):
            answer = str(text)
        if answer == english or not CJK.search(answer):
            untranslated.append(f"{where}: {english}")

    assert sorted(set(untranslated)) == []


# --- Bad requests, answered in Chinese -----------------------------------------------

_NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
_LATER = (_NOW + dt.timedelta(days=30)).isoformat()


def _campaign(**overrides) -> dict:
    body = {
        "name": "Lucky",
        "kind": "draw",
        "timezone": "Asia/Hong_Kong",
        "starts_at": _NOW.isoformat(),
        "ends_at": _LATER,
        "coupon_types": [
            {"name": "Ten off", "percent": "10", "probability": "0.5"},
        ],
    }
    return body | overrides


def _coupon_type(**fields) -> dict:
    return {"name": "Ten off", "percent": "10", "probability": "0.5"} | fields


def _rush(**overrides) -> dict:
    return (
        _campaign(
            kind="rush",
            reservation_opens="10:00",
            reservation_closes="11:00",
            rush_opens="12:00",
            rush_closes="13:00",
            ratio="0.2",
            coupon_types=[{"name": "Ten off", "percent": "10"}],
        )
        | overrides
    )


def _generate(**overrides) -> dict:
    body = {
        "email": "ann@example.com",
        "offer_name": "Winter",
        "discount": "10",
        "expires_at": _LATER,
    }
    return {k: v for k, v in (body | overrides).items() if v is not None}


def _order(**fields) -> dict:
    return {"amount": "10.00", "currency": "HKD"} | fields


# (id, who asks, method, path, body or raw bytes). Paths may name {campaign},
# {draw}, {rush}, {claim} and {coupon_type} (the fixture's).
CASES = [
    # Sign-in and the customer's own.
    ("phone-pattern", "anonymous", "post", "/api/v1/auth/otp", {"phone": "abc"}),
    ("phone-unknown", "anonymous", "post", "/api/v1/auth/otp", {"phone": "+1 555 0"}),
    ("phone-not-a-string", "anonymous", "post", "/api/v1/auth/otp", {"phone": 5}),
    ("phone-missing", "anonymous", "post", "/api/v1/auth/otp", {}),
    (
        "otp-code",
        "anonymous",
        "post",
        "/api/v1/auth/token",
        {"phone": "+14155550123", "code": "12"},
    ),
    ("me-language", "customer", "patch", "/api/v1/me", {"language": "fr"}),
    ("me-email", "customer", "patch", "/api/v1/me", {"email": "not-an-email"}),
    ("me-name-long", "customer", "patch", "/api/v1/me", {"name": "x" * 151}),
    ("email-code", "customer", "post", "/api/v1/me/email/verify", {"code": "abc"}),
    # Who may call.
    ("no-token", "anonymous", "get", "/api/v1/me", None),
    ("bad-token", "bad-token", "get", "/api/v1/me", None),
    ("customer-not-staff", "customer", "post", "/api/v1/campaigns", _campaign()),
    ("staff-without-permission", "staff", "post", "/api/v1/customers/1/block", {}),
    # The request itself.
    ("not-json", "customer", "patch", "/api/v1/me", b'{"name": '),
    ("too-deep", "customer", "patch", "/api/v1/me", b"[" * 40 + b"]" * 40),
    ("not-an-object", "customer", "patch", "/api/v1/me", [1, 2]),
    ("method", "customer", "put", "/api/v1/me", {}),
    ("no-route", "customer", "get", "/api/v1/nothing-here", None),
    ("limit", "anonymous", "get", "/api/v1/campaigns?limit=abc", None),
    ("offset", "anonymous", "get", "/api/v1/campaigns?offset=-1", None),
    # Campaigns.
    ("campaign-empty", "staff", "post", "/api/v1/campaigns", {}),
    (
        "campaign-fields",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            name=0,
            kind="lottery",
            timezone="Mars/Olympus",
            starts_at="yesterday",
            coupon_types=[],
            slug="Not a slug!",
        ),
    ),
    (
        "campaign-past-end",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(ends_at=(_NOW - dt.timedelta(days=1)).isoformat()),
    ),
    (
        "campaign-end-before-start",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(starts_at=(_NOW + dt.timedelta(days=40)).isoformat()),
    ),
    ("campaign-slug-taken", "staff", "post", "/api/v1/campaigns", "slug-taken"),
    (
        "coupon-type-fields",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            coupon_types=[
                _coupon_type(
                    probability="2",
                    code_prefix="Ü!",
                    percent="10.123",
                    total_quota=-1,
                    hold_seconds="soon",
                    rules={"categories": ["a,b"], "per_customer_limit": 0},
                )
            ]
        ),
    ),
    (
        "coupon-type-benefit",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            coupon_types=[
                {"name": "Cash", "benefit_kind": "amount", "probability": "0.1"},
                {"name": "Gift", "benefit_kind": "free_item", "probability": "0.1"},
            ]
        ),
    ),
    (
        "coupon-type-rules",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            coupon_types=[
                _coupon_type(rules={"min_order_amount": "10", "max_discount": "5"})
            ]
        ),
    ),
    (
        "odds-past-one",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            coupon_types=[
                _coupon_type(name="A", probability="0.6"),
                _coupon_type(name="B", probability="0.6"),
            ]
        ),
    ),
    (
        "no-odds",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(coupon_types=[_coupon_type(probability="0")]),
    ),
    (
        "names-repeated",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(coupon_types=[_coupon_type(), _coupon_type()]),
    ),
    (
        "rush-windows",
        "staff",
        "post",
        "/api/v1/campaigns",
        _rush(rush_opens="10:30", ratio="0"),
    ),
    (
        "rush-time-format",
        "staff",
        "post",
        "/api/v1/campaigns",
        _rush(reservation_closes="25:00", rush_opens="noon"),
    ),
    (
        "rush-window-order",
        "staff",
        "post",
        "/api/v1/campaigns",
        _rush(rush_opens="11:30", rush_closes="11:00"),
    ),
    (
        "rush-types",
        "staff",
        "post",
        "/api/v1/campaigns",
        _rush(coupon_types=[_coupon_type(name="A"), _coupon_type(name="B")]),
    ),
    (
        "claim-valid-days",
        "staff",
        "post",
        "/api/v1/campaigns",
        _campaign(
            kind="claim", coupon_types=[{"name": "A", "percent": "5", "valid_days": 3}]
        ),
    ),
    # Simulations and releases.
    (
        "simulation-fields",
        "staff",
        "post",
        "/api/v1/campaigns/{campaign}/simulations",
        {"hourly_profile": [0] * 24, "runs": 0, "coupon_types": [{"id": 1}] * 2},
    ),
    (
        "simulation-one-of",
        "staff",
        "post",
        "/api/v1/campaigns/{campaign}/simulations",
        {"participants_per_day": 10, "participants_by_day": [10]},
    ),
    (
        "simulation-inputs",
        "staff",
        "post",
        "/api/v1/campaigns/{campaign}/simulations",
        {"participants_by_day": [10], "coupon_types": [{"id": 999999, "cost": "1"}]},
    ),
    (
        "release-type",
        "staff",
        "post",
        "/api/v1/campaigns/{claim}/releases",
        {"coupon_type": 0, "count": 0},
    ),
    # Vouchers.
    ("voucher-list-staff", "staff", "get", "/api/v1/vouchers", None),
    ("generate-empty", "staff", "post", "/api/v1/vouchers", {}),
    (
        "generate-email-or-emails",
        "staff",
        "post",
        "/api/v1/vouchers",
        _generate(email=None),
    ),
    (
        "generate-fields",
        "staff",
        "post",
        "/api/v1/vouchers",
        _generate(
            email="nobody",
            discount="120",
            expires_at=(_NOW - dt.timedelta(days=1)).isoformat(),
            currency="hkd",
            send_emails="maybe",
        ),
    ),
    (
        "generate-emails",
        "staff",
        "post",
        "/api/v1/vouchers",
        _generate(email=None, emails=[]),
    ),
    (
        "generate-rules",
        "staff",
        "post",
        "/api/v1/vouchers",
        _generate(rules={"min_order_amount": "10"}),
    ),
    (
        "check-order",
        "customer",
        "post",
        "/api/v1/vouchers/check",
        {"code": "{voucher}", "order": _order(amount="10.001")},
    ),
    (
        "check-order-fields",
        "customer",
        "post",
        "/api/v1/vouchers/check",
        {
            "code": "{voucher}",
            "order": _order(amount=10.5, currency="hkd", categories="shoes"),
        },
    ),
    (
        "redeem-order",
        "customer",
        "post",
        "/api/v1/vouchers/redeem",
        {"code": "{voucher}", "order": _order(amount="-1", categories=["x" * 200])},
    ),
    ("redeem-code", "customer", "post", "/api/v1/vouchers/redeem", {"code": 42}),
]


@pytest.fixture
def world(db, customer_client, staff_client, api_client):
    draw = CampaignFactory(status=Campaign.Status.DRAFT)
    coupon_type = CouponTypeFactory(campaign=draw, probability=Decimal("0.5"))
    claim = CampaignFactory(kind=Campaign.Kind.CLAIM)
    CouponTypeFactory(campaign=claim, probability=0)
    CampaignFactory(slug="slug-taken")
    voucher = VoucherFactory(owner=customer_client.customer)
    bad = type(api_client)()
    bad.credentials(HTTP_AUTHORIZATION="Bearer nonsense")
    return {
        "clients": {
            "anonymous": api_client,
            "customer": customer_client,
            "staff": staff_client,
            "bad-token": bad,
        },
        "names": {
            "campaign": draw.slug,
            "claim": claim.slug,
            "coupon_type": str(coupon_type.pk),
            "voucher": voucher.code,
        },
    }


def _ask(world, who, method, path, body, language):
    client = world["clients"][who]
    names = world["names"]
    if body == "slug-taken":
        body = _campaign(slug="slug-taken")
    kwargs = {"HTTP_ACCEPT_LANGUAGE": language}
    if isinstance(body, bytes):
        kwargs |= {"data": body, "content_type": "application/json"}
    elif body is not None:
        text = re.sub(r"\{(\w+)\}", lambda m: names.get(m[1], m[0]), repr(body))
        kwargs |= {"data": ast.literal_eval(text), "format": "json"}
    return getattr(client, method)(path.format(**names), **kwargs)


def _texts(body: dict) -> list[str]:
    return [body["detail"], *(m for ms in body.get("fields", {}).values() for m in ms)]


@pytest.mark.parametrize("language", CHINESE)
@pytest.mark.parametrize(
    ("who", "method", "path", "body"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_refused_request_is_answered_in_chinese_with_its_code(
    world, who, method, path, body, language
):
    english = _ask(world, who, method, path, body, "en")
    answer = _ask(world, who, method, path, body, language)

    assert 400 <= english.status_code < 500, english.content
    assert english["Content-Language"] == "en"
    assert answer.status_code == english.status_code
    assert answer["Content-Language"] == language
    chinese, plain = answer.json(), english.json()
    assert chinese["code"] == plain["code"]
    assert set(chinese.get("fields", {})) == set(plain.get("fields", {}))
    for text in _texts(chinese):
        assert CJK.search(text), (text, plain)
        assert not ENGLISH.search(text), (text, plain)


# --- The server's own refusals, before Django -----------------------------------------


@pytest.mark.parametrize(
    ("accept", "language", "detail"),
    [
        ("zh-TW", "zh-hant", "請求內容超過 10 位元組。"),
        ("zh-CN,en;q=0.5", "zh-hans", "请求内容超过 10 字节。"),
        ("", "en", "The request body is larger than 10 bytes."),
    ],
)
def test_the_servers_refusals_speak_the_requests_language(accept, language, detail):
    sent = []

    async def send(message):
        sent.append(message)

    refused = _too_large(10)
    scope = {"headers": [(b"accept-language", accept.encode())]}
    asyncio.run(
        respond(
            send,
            refused.status,
            refused.code,
            refused.message,
            params=refused.params,
            scope=scope,
        )
    )

    start, body = sent
    assert (b"content-language", language.encode()) in start["headers"]
    assert json.loads(body["body"]) == {"code": "REQUEST_TOO_LARGE", "detail": detail}
