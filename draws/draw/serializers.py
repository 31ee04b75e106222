from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from campaigns.serializers import CouponTypeSerializer
from draws.draw.models import Draw
from draws.draw.selectors import (
    SEED_MAX,
    TypeAssumption,
    simulation_errors,
    simulation_types,
)
from draws.draw.simulation import (
    DEFAULT_RUNS,
    MAX_COST,
    MAX_PARTICIPANTS_PER_DAY,
    MAX_RUNS,
    MAX_SIMULATED_DAYS,
)
from vouchers.serializers import VoucherSerializer


class DrawSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    day = serializers.DateField(read_only=True)
    won = serializers.BooleanField(read_only=True)
    coupon_type = serializers.SerializerMethodField()
    voucher = VoucherSerializer(allow_null=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(CouponTypeSerializer(allow_null=True))
    def get_coupon_type(self, draw: Draw):
        """The prize won; null on a loss (even when the roll hit a spent quota)."""
        if not draw.won:
            return None
        return CouponTypeSerializer(draw.voucher.coupon_type).data


# The cost simulator (``draws.draw.selectors.draw_simulate``): what staff send
# and what comes back.


class SimulationTypeInputSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, help_text="A coupon type's id.")
    cost = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=Decimal(0),
        max_value=MAX_COST,
        required=False,
        allow_null=True,
        help_text="What one redeemed coupon costs. Default (null or absent): the "
        "amount of an amount-off benefit; required for percentages and free items.",
    )
    redemption_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        required=False,
        allow_null=True,
        help_text="Share of won coupons that get redeemed (default: the body's "
        "`redemption_rate`).",
    )


class SimulationInputSerializer(serializers.Serializer):
    """What to simulate: give exactly one of `participants_per_day` and
    `participants_by_day`; the rest has defaults."""

    # context["campaign"]: the campaign simulated (its days and coupon types).

    participants_per_day = serializers.IntegerField(
        min_value=0,
        max_value=MAX_PARTICIPANTS_PER_DAY,
        required=False,
        help_text="Customers drawing on each full local day.",
    )
    participants_by_day = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_PARTICIPANTS_PER_DAY),
        required=False,
        min_length=1,
        max_length=MAX_SIMULATED_DAYS,
        help_text="Customers drawing on each local day of the campaign, first to "
        "last, as on a full day (a partly open first or last day gets its share).",
    )
    hourly_profile = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=1_000_000),
        required=False,
        min_length=24,
        max_length=24,
        help_text="24 relative weights, local hours 00 to 23 (say, last "
        "month's draws per hour): how a day's participants spread over it "
        "(default: evenly).",
    )
    coupon_types = SimulationTypeInputSerializer(
        many=True,
        required=False,
        max_length=100,
        help_text="Cost and redemption rate per coupon type, by id.",
    )
    redemption_rate = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1),
        default=Decimal(1),
        help_text="Share of won coupons redeemed, for types that give none.",
    )
    runs = serializers.IntegerField(
        min_value=1, max_value=MAX_RUNS, default=DEFAULT_RUNS
    )
    seed = serializers.IntegerField(
        min_value=0,
        max_value=SEED_MAX,
        required=False,
        help_text="The same seed and inputs give the same answer (default: random, "
        "returned in the answer).",
    )

    def validate_hourly_profile(self, value):
        if not any(value):
            raise serializers.ValidationError(_("At least one hour needs a weight."))
        return value

    def validate_coupon_types(self, value):
        ids = [item["id"] for item in value]
        if len(ids) != len(set(ids)):
            raise serializers.ValidationError(_("Name each coupon type once."))
        return value

    def validate(self, attrs):
        given = [
            name
            for name in ("participants_per_day", "participants_by_day")
            if name in attrs
        ]
        if len(given) != 1:
            raise serializers.ValidationError(
                _("Give exactly one of participants_per_day and participants_by_day.")
            )
        campaign = self.context["campaign"]
        attrs["types"] = simulation_types(campaign)
        attrs["assumptions"] = {
            item["id"]: TypeAssumption(
                cost=item.get("cost"), redemption_rate=item.get("redemption_rate")
            )
            for item in attrs.pop("coupon_types", [])
        }
        errors = simulation_errors(
            campaign,
            types=attrs["types"],
            participants_by_day=attrs.get("participants_by_day"),
            assumptions=attrs["assumptions"],
        )
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class QuotaRunOutSerializer(serializers.Serializer):
    share = serializers.FloatField(
        help_text="Share of runs in which the quota ran out (0 to 1)."
    )
    median_at = serializers.DateTimeField(
        allow_null=True,
        help_text="Start of the local hour it ran out in, the median over the runs "
        "where it did; null when it never did.",
    )
    p5_at = serializers.DateTimeField(allow_null=True)
    p95_at = serializers.DateTimeField(allow_null=True)


class SimulationTypeDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    expected_wins = serializers.FloatField()
    expected_redeemed = serializers.FloatField()
    expected_cost = serializers.FloatField()
    daily_quota_runs_out = QuotaRunOutSerializer(
        allow_null=True, help_text="Null: no daily quota."
    )


class SimulationTypeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    probability = serializers.FloatField()
    total_quota = serializers.IntegerField(allow_null=True)
    daily_quota = serializers.IntegerField(allow_null=True)
    cost = serializers.FloatField(help_text="Per redeemed coupon, as simulated.")
    redemption_rate = serializers.FloatField()
    expected_wins = serializers.FloatField()
    expected_cost = serializers.FloatField()
    total_quota_runs_out = QuotaRunOutSerializer(
        allow_null=True, help_text="Null: no total quota."
    )
    days = SimulationTypeDaySerializer(many=True)


class SimulationDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    expected_participants = serializers.FloatField()


class SimulationTotalSerializer(serializers.Serializer):
    expected_wins = serializers.FloatField()
    expected_cost = serializers.FloatField()
    cost_p5 = serializers.FloatField()
    cost_p50 = serializers.FloatField()
    cost_p95 = serializers.FloatField()


class SimulationSerializer(serializers.Serializer):
    campaign = serializers.SlugField()
    currency = serializers.CharField(
        allow_null=True,
        help_text="The currency of the amounts taken as costs; null when every "
        "cost was given (then in the unit staff gave them in).",
    )
    runs = serializers.IntegerField()
    seed = serializers.IntegerField()
    timezone = serializers.CharField()
    days = SimulationDaySerializer(many=True)
    coupon_types = SimulationTypeSerializer(many=True)
    total = SimulationTotalSerializer()


# Draws anyone can verify (issue 15, ``draws.draw.fairness``).


class DrawSeedSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The campaign's local day.")
    seed_hash = serializers.CharField(help_text="SHA-256 (hex) of the day's seed.")
    revealed = serializers.BooleanField(
        help_text="Whether the day has ended where the campaign runs."
    )
    seed = serializers.CharField(
        allow_null=True,
        help_text="The seed (64 hex digits, 32 bytes); null until the day has ended.",
    )


class OddsSliceSerializer(serializers.Serializer):
    coupon_type = serializers.IntegerField()
    probability = serializers.FloatField()


class DrawVerificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.CharField(help_text="The campaign's slug.")
    day = serializers.DateField()
    customer_id = serializers.IntegerField()
    roll = serializers.FloatField(help_text="The draw's number in [0, 1).")
    odds = OddsSliceSerializer(
        many=True,
        help_text="The odds in force, in order: the roll falls in the slice of "
        "[0, 1) of the first type whose running sum of probabilities passes it; "
        "past them all, no prize.",
    )
    coupon_type = serializers.IntegerField(
        allow_null=True, help_text="The type the roll landed on; null: no prize."
    )
    won = serializers.BooleanField()
    quota_spent = serializers.BooleanField(
        help_text="The roll hit a type whose quota was spent: a loss."
    )
    verifiable = serializers.BooleanField(
        help_text="False for draws made before draws were seeded."
    )
    identity = serializers.CharField(
        help_text="The HMAC's message, '{campaign_id}:{day}:{customer_id}'; "
        "empty when not verifiable."
    )
    seed_hash = serializers.CharField(
        allow_null=True, help_text="The day's published SHA-256 of the seed."
    )
    revealed = serializers.BooleanField(
        help_text="Whether the day has ended where the campaign runs."
    )
    seed = serializers.CharField(
        allow_null=True, help_text="The day's seed, hex; null until revealed."
    )
    verified = serializers.BooleanField(
        allow_null=True,
        help_text="Once revealed: the seed matches its hash, the roll derives "
        "from it and maps to `coupon_type` with `odds`. Null before.",
    )
    mismatches = serializers.ListField(
        child=serializers.CharField(),
        help_text="What did not match (roll, coupon_type, won_without_hit, "
        "seed_hash); empty when verified.",
    )
