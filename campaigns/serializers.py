import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.fairness import campaign_fairness
from campaigns.figures import campaign_figures
from campaigns.models import (
    BENEFIT_REQUIRES,
    CAMPAIGN_EDITABLE_FIELDS,
    RULE_CATEGORY_MAX_LENGTH,
    RULES_FIELDS,
    Benefit,
    Campaign,
    CouponType,
    normalize_categories,
    validate_timezone,
)
from campaigns.rules import CHECKED_FIELDS, campaign_validate
from couponsite.api.fields import (
    STRICT_FIELD_MAPPING,
    BlankAsNullCharField,
    StrictCharField,
    StrictSlugField,
)
from couponsite.codes import normalize_prefix, prefix_refused

# A local time of day, without an offset: the campaign's time zone applies.
# (RFC 3339's `format: time` requires an offset, which these times do not have.)
WALL_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
_WALL_TIME = re.compile(WALL_TIME_PATTERN)


# A pattern, not an enum of the ~600 names: generated clients turn enum values
# into identifiers, and IANA aliases collide there (GMT+0, GMT-0 and GMT0 all
# become GMT0), which stops openapi-python-client from generating a client.
TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": TIMEZONE_PATTERN,
        "maxLength": 64,
        "example": "Europe/Paris",
        "description": "An IANA time zone name (tz database), e.g. Asia/Hong_Kong; "
        "one the server does not know is a 400 naming the field.",
    }
)
class TimezoneField(serializers.Field):
    """An IANA time zone name (the schema declares their shape, not the list),
    checked by the model's own validator."""

    default_validators = [validate_timezone]

    def to_internal_value(self, data) -> str:
        return str(data)

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_field(
    {"type": "string", "pattern": WALL_TIME_PATTERN, "example": "22:55:00"}
)
class WallTimeField(serializers.TimeField):
    """``HH:MM`` or ``HH:MM:SS`` in, ``HH:MM:SS`` out; no offset, no fraction."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M:%S")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not _WALL_TIME.fullmatch(value):
            self.fail("invalid", format="hh:mm[:ss]")
        return super().to_internal_value(value)


class BenefitSerializer(serializers.Serializer):
    """What a coupon is worth, read from any model with the Benefit fields."""

    kind = serializers.ChoiceField(source="benefit_kind", choices=Benefit.Kind.choices)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    currency = BlankAsNullCharField(
        help_text="An amount's currency; on another benefit, the currency its "
        "order rules are in (orders must be in it), if any; else null."
    )
    percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    free_item = BlankAsNullCharField(help_text="Free items only; null otherwise.")
    text = serializers.CharField(source="benefit_text")


# The answer's source: anything with the ``RedemptionRules`` fields (a coupon
# type, an offer, a voucher).
class RedemptionRulesSerializer(serializers.Serializer):
    """Redemption rules: a coupon type's or an offer's, or those a voucher
    copied at issue (all null or empty: none)."""

    min_order_amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        allow_null=True,
        help_text="The order must come to at least this much, in the "
        "benefit's `currency` (which an order must then be in).",
    )
    max_discount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        allow_null=True,
        help_text="A percentage off never takes more than this much money.",
    )
    categories = serializers.ListField(
        source="category_list",
        child=serializers.CharField(),
        help_text="The order must list one of these; empty: any order.",
    )
    per_customer_limit = serializers.IntegerField(
        allow_null=True,
        help_text="Redemptions per customer in the campaign (or offer), this "
        "one included; null: no limit.",
    )
    order_required = serializers.SerializerMethodField(
        help_text="Whether redeeming needs the `order` (a minimum or categories)."
    )

    def get_order_required(self, source) -> bool:
        return source.min_order_amount is not None or bool(source.categories)


# The column is a Postgres integer.
PER_CUSTOMER_LIMIT_MAX = 2**31 - 1


# Each value's bounds come from the model's fields, as the admin form's do; the
# rules across fields are ``redemption_rules_errors``, which the caller runs with
# the benefit (``CouponType.clean``, ``Offer.clean``). Validated data are the
# model's fields: ``categories`` normalized and comma-separated.
class RedemptionRulesInputSerializer(serializers.ModelSerializer):
    """Redemption rules as staff set them: the answer's shape less
    `order_required`, every field optional (omitted or null: no such rule)."""

    serializer_field_mapping = STRICT_FIELD_MAPPING
    categories = serializers.ListField(
        # Their length is redemption_rules_errors', so the admin's words say it.
        child=StrictCharField(
            validators=[RegexValidator(r"^[^,]*$", message=_("No commas."))]
        ),
        required=False,
        max_length=50,
        help_text="The order must list one of these (case ignored); empty or "
        f"omitted: any order. Each at most {RULE_CATEGORY_MAX_LENGTH} characters.",
    )

    class Meta:
        model = CouponType  # the same fields as Offer's (RedemptionRules)
        fields = list(RULES_FIELDS)
        extra_kwargs = {
            "min_order_amount": {
                "help_text": "The order must come to at least this much, in the "
                "`currency` (required with it)."
            },
            "max_discount": {
                "help_text": "Percentage off only: never more than this much "
                "money off an order (needs the `currency`)."
            },
            "per_customer_limit": {"max_value": PER_CUSTOMER_LIMIT_MAX},
        }

    def validate_categories(self, value: list[str]) -> str:
        return ",".join(normalize_categories(value))


def rules_errors_nested(errors: dict) -> dict:
    """``redemption_rules_errors`` (or a model's ``clean``) keyed as the API
    takes the rules: the rules' own fields under ``rules``."""
    nested = {k: v for k, v in errors.items() if k not in RULES_FIELDS}
    if rules := {k: v for k, v in errors.items() if k in RULES_FIELDS}:
        nested["rules"] = rules
    return nested


class CouponTypeSerializer(serializers.Serializer):
    """A coupon type in answers (plain Serializer: it is on the draw's hot path)."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    category = serializers.CharField(read_only=True)
    benefit = BenefitSerializer(source="*", read_only=True)
    probability = serializers.DecimalField(
        max_digits=7, decimal_places=6, read_only=True
    )
    total_quota = serializers.IntegerField(read_only=True, allow_null=True)
    daily_quota = serializers.IntegerField(read_only=True, allow_null=True)
    valid_days = serializers.IntegerField(
        read_only=True,
        help_text="Draw and rush coupons are valid this many days after issue; "
        "not used by claim coupons, whose deadline is the hold.",
    )
    valid_until = serializers.DateTimeField(read_only=True, allow_null=True)
    hold_seconds = serializers.IntegerField(read_only=True)


class CouponTypeInputSerializer(serializers.ModelSerializer):
    """A coupon type to create. The schema shows it as one of three shapes, one per
    ``benefit_kind``, each requiring that kind's fields (``BENEFIT_REQUIRES``)."""

    serializer_field_mapping = STRICT_FIELD_MAPPING
    benefit_kind = serializers.ChoiceField(
        choices=Benefit.Kind.choices, default=Benefit.Kind.PERCENT
    )
    rules = RedemptionRulesInputSerializer(
        required=False,
        help_text="What an order must be for its coupons to apply; omitted: "
        "none. Money rules need the `currency`. Each coupon copies them at issue.",
    )

    class Meta:
        model = CouponType
        fields = [
            "name",
            "category",
            "benefit_kind",
            "amount",
            "currency",
            "percent",
            "free_item",
            "probability",
            "total_quota",
            "daily_quota",
            "quota_shards",
            "valid_days",
            "valid_until",
            "hold_seconds",
            "code_prefix",
            "code_length",
            "rules",
        ]
        # Uniqueness of names within a campaign is checked by CampaignCreateSerializer.
        validators = []

    def validate_code_prefix(self, value: str) -> str:
        try:
            return normalize_prefix(value)
        except ValueError:
            raise serializers.ValidationError(prefix_refused()) from None

    def validate_currency(self, value: str) -> str:
        return value.upper()

    def validate(self, attrs):
        attrs.update(attrs.pop("rules", {}))
        try:
            CouponType(**attrs).clean()
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                rules_errors_nested(exc.message_dict)
            ) from None
        return attrs


def _benefit_variant(kind: str) -> type[CouponTypeInputSerializer]:
    """The coupon type input for one kind of benefit, its fields required (schema)."""
    label = Benefit.Kind(kind).label
    required = {}
    for name in BENEFIT_REQUIRES[kind]:
        field = CouponType._meta.get_field(name)
        blank = {"allow_blank": False} if isinstance(field, models.CharField) else {}
        required[name] = {"required": True, "allow_null": False, **blank}
    kind_field = serializers.ChoiceField(
        choices=[(kind, label)],
        help_text=f"{label}: needs {', '.join(BENEFIT_REQUIRES[kind])}.",
        **({"default": kind} if kind == Benefit.Kind.PERCENT else {"required": True}),
    )
    name = "".join(part.title() for part in kind.split("_"))
    meta = type("Meta", (CouponTypeInputSerializer.Meta,), {"extra_kwargs": required})
    return type(
        f"CouponType{name}InputSerializer",
        (CouponTypeInputSerializer,),
        {"benefit_kind": kind_field, "Meta": meta, "__module__": __name__},
    )


COUPON_TYPE_INPUT_VARIANTS = [_benefit_variant(kind) for kind in BENEFIT_REQUIRES]


class CampaignCreateSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**STRICT_FIELD_MAPPING, models.TimeField: WallTimeField}
    coupon_types = CouponTypeInputSerializer(many=True, allow_empty=False)
    slug = StrictSlugField(max_length=80, required=False)
    timezone = TimezoneField(
        help_text="An IANA time zone: a campaign's days are local to it."
    )

    class Meta:
        model = Campaign
        fields = [*CAMPAIGN_EDITABLE_FIELDS, "coupon_types"]

    def validate_slug(self, value: str) -> str:
        if Campaign.objects.filter(slug=value).exists():
            raise serializers.ValidationError(_("A campaign with this slug exists."))
        return value

    def validate_ends_at(self, value):
        # Checked alone first too, so that a past end is named with the other
        # fields' errors (validate() runs only once every field is valid).
        if errors := campaign_validate(ends_at=value).get("ends_at"):
            raise serializers.ValidationError(errors)
        return value

    def validate(self, attrs):
        """The campaign rules (``campaigns.rules``), with the model's defaults for
        the fields left out."""
        fields = {
            name: attrs[name]
            if name in attrs
            else Campaign._meta.get_field(name).get_default()
            for name in CHECKED_FIELDS
        }
        errors = campaign_validate(**fields, coupon_types=attrs["coupon_types"])
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class RushWindowsSerializer(serializers.Serializer):
    reservation_opens = WallTimeField()
    reservation_closes = WallTimeField()
    rush_opens = WallTimeField()
    rush_closes = WallTimeField()
    ratio = serializers.DecimalField(max_digits=5, decimal_places=4)


class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "slug",
            "name",
            "kind",
            "description",
            "timezone",
            "starts_at",
            "ends_at",
            "status",
        ]
        read_only_fields = fields


class CouponTypeFiguresSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    issued_today = serializers.IntegerField(
        help_text="Coupons of this type customers got today (draw wins, claims "
        "still held or redeemed, grabs); a lapsed hold does not count."
    )
    left_today = serializers.IntegerField(allow_null=True, help_text="null: unlimited")
    issued_total = serializers.IntegerField(help_text="The same, all days.")
    left_total = serializers.IntegerField(allow_null=True, help_text="null: unlimited")


class RushFiguresSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The local day of the latest rush cycle.")
    reservation_opens = serializers.DateTimeField()
    rush_opens = serializers.DateTimeField()
    rush_closes = serializers.DateTimeField(help_text="Exclusive.")
    reservations = serializers.IntegerField()
    coupons = serializers.IntegerField()
    grabs = serializers.IntegerField()
    sold_out_at = serializers.DateTimeField(allow_null=True)


class CampaignFiguresSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Today in the campaign's time zone.")
    rush = RushFiguresSerializer(allow_null=True, help_text="Rush campaigns only.")
    draws_today = serializers.IntegerField()
    wins_today = serializers.IntegerField()
    vouchers_issued = serializers.IntegerField(
        help_text="All days: the sum of the coupon types' `issued_total`."
    )
    vouchers_redeemed = serializers.IntegerField()
    holds_now = serializers.IntegerField()
    coupon_types = CouponTypeFiguresSerializer(many=True)


class DrawFairnessSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="Today in the campaign's time zone.")
    seed_hash = serializers.CharField(
        allow_null=True,
        help_text="SHA-256 (hex) of today's secret seed, published before the "
        "day's first draw; null while the campaign does not run today and no "
        "seed was made. The seed is revealed once the local day has ended "
        "(`seeds`).",
    )
    roll = serializers.CharField(
        help_text="How each roll derives from the seed (README: Checking a draw)."
    )
    seeds = serializers.CharField(
        help_text="Where every day's hash, and once revealed its seed, is listed."
    )


class CouponTypeDetailSerializer(CouponTypeSerializer):
    """A coupon type in the campaign's detail: with its redemption rules."""

    rules = RedemptionRulesSerializer(
        source="*",
        read_only=True,
        help_text="What an order must be for its coupons to apply (each coupon "
        "copies them at issue).",
    )


class CampaignDetailSerializer(CampaignSerializer):
    coupon_types = CouponTypeDetailSerializer(many=True, read_only=True)
    windows = serializers.SerializerMethodField()
    today = serializers.SerializerMethodField()
    draw_fairness = serializers.SerializerMethodField()

    class Meta(CampaignSerializer.Meta):
        fields = [
            *CampaignSerializer.Meta.fields,
            "coupon_types",
            "windows",
            "today",
            "draw_fairness",
        ]
        read_only_fields = fields

    @extend_schema_field(RushWindowsSerializer(allow_null=True))
    def get_windows(self, campaign: Campaign):
        if campaign.kind != Campaign.Kind.RUSH:
            return None
        return RushWindowsSerializer(campaign).data

    @extend_schema_field(CampaignFiguresSerializer)
    def get_today(self, campaign: Campaign):
        return CampaignFiguresSerializer(campaign_figures(campaign)).data

    @extend_schema_field(DrawFairnessSerializer(allow_null=True))
    def get_draw_fairness(self, campaign: Campaign):
        """Draw campaigns only: today's published seed hash."""
        fairness = campaign_fairness(campaign)
        return None if fairness is None else DrawFairnessSerializer(fairness).data
