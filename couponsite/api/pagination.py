"""Lists page with ``limit`` and ``offset``, both strict integers in a stated range.

DRF's ``LimitOffsetPagination`` reads ``limit=abc`` as "the default" and passes
``limit=358922147147728224256`` to the database ("bigint out of range", a 500).
Here a value that is not a plain decimal integer inside its range is a
``400 VALIDATION_ERROR`` naming the parameter, and the schema says the range.
"""

import re

from django.conf import settings
from django.utils.translation import gettext
from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

DEFAULT_LIMIT = settings.REST_FRAMEWORK["PAGE_SIZE"]
MAX_LIMIT = 200
# Far past any list we serve, and inside Postgres' bigint for OFFSET.
MAX_OFFSET = 1_000_000_000

_DIGITS = re.compile(r"[0-9]{1,12}")


def _bounded_int(params, name: str, *, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not _DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise serializers.ValidationError(
            {
                name: [
                    gettext("Must be a whole number from %(low)s to %(high)s.")
                    % {"low": low, "high": f"{high:,}"}
                ]
            }
        )
    return int(raw)


class Pagination(LimitOffsetPagination):
    default_limit = DEFAULT_LIMIT
    max_limit = MAX_LIMIT

    def get_limit(self, request) -> int:
        return _bounded_int(
            request.query_params,
            self.limit_query_param,
            default=self.default_limit,
            low=1,
            high=self.max_limit,
        )

    def get_offset(self, request) -> int:
        return _bounded_int(
            request.query_params,
            self.offset_query_param,
            default=0,
            low=0,
            high=MAX_OFFSET,
        )

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.limit_query_param,
                "required": False,
                "in": "query",
                "description": (
                    f"Results per page, 1 to {self.max_limit} "
                    f"(default {self.default_limit})."
                ),
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": self.max_limit,
                    "default": self.default_limit,
                },
            },
            {
                "name": self.offset_query_param,
                "required": False,
                "in": "query",
                "description": "Results to skip (default 0).",
                "schema": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_OFFSET,
                    "default": 0,
                },
            },
        ]

    def get_paginated_response_schema(self, schema):
        """DRF's, with ``next``/``previous`` nullable the OpenAPI 3.1 way (the
        schema is 3.1, where 3.0's ``nullable`` keyword means nothing)."""
        response = super().get_paginated_response_schema(schema)
        for link in ("next", "previous"):
            prop = response["properties"][link]
            prop.pop("nullable", None)
            prop["type"] = ["string", "null"]
        return response
