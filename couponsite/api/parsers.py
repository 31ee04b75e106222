"""The JSON request parser: DRF's, refusing bodies nested past any real request.

Python's decoder raises ``RecursionError`` (not ``ValueError``) on a body nested
some thousands deep, which escaped DRF's parser as a 500; a body a few hundred
deep parses but can exhaust the stack later (hashing it for idempotency, say).
Both are ``400 MALFORMED_REQUEST`` here.
"""

import json

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Our deepest body is a campaign: object > coupon_types list > object > value.
MAX_DEPTH = 32


def _depth_exceeds(data, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _not_json(error: BaseException | None) -> str:
    if isinstance(error, json.JSONDecodeError):
        return gettext(
            "JSON parse error - not valid JSON at line %(line)d, column %(column)d."
        ) % {"line": error.lineno, "column": error.colno}
    return gettext("JSON parse error - not valid JSON.")


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - nested too deeply.")) from None
        except ParseError as exc:
            # DRF's text ends in Python's own English words ("Expecting value").
            raise ParseError(_not_json(exc.__context__)) from None
        if _depth_exceeds(data, MAX_DEPTH):
            raise ParseError(
                gettext("JSON parse error - nested more than %(depth)d levels deep.")
                % {"depth": MAX_DEPTH}
            )
        return data
