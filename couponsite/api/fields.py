"""Serializer fields shared by the apps."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A ``CharField`` that takes only JSON strings.

    DRF's ``CharField`` turns ``0`` into ``"0"`` and ``1.5`` into ``"1.5"``, so
    ``{"name": 0}`` would be accepted although the schema says ``string``; this
    one refuses anything that is not a string with ``VALIDATION_ERROR``.
    """

    default_error_messages = {"invalid": "Not a valid string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
