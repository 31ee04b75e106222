"""Serializer fields shared by the apps."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A ``CharField`` that takes only JSON strings.

    DRF's ``CharField`` turns ``0`` into ``"0"`` and ``1.5`` into ``"1.5"``, so
    ``{"name": 0}`` would be accepted although the schema says ``string``; this
    one refuses anything that is not a string with ``VALIDATION_ERROR``. And
    DRF measures ``max_length`` after trimming the string's surrounding
    whitespace, so a longer string would pass although the schema's
    ``maxLength`` refuses it; here ``max_length`` counts the string as sent.
    """

    default_error_messages = {"invalid": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return super().to_internal_value(data)


class StrictDecimalField(serializers.DecimalField):
    """A ``DecimalField`` that takes only JSON strings (``"12.50"``), as the
    schema says (``type: string``): DRF's also takes ``12.5``, a float."""

    default_error_messages = {"invalid": _("A valid number is required, as a string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class _BlankAsNull:
    """Read-only: a model's "" (no value) is answered as null, declared nullable.

    Absent is null everywhere in the API: a client never has to tell "" from null,
    and "" never stands under a ``format`` it does not satisfy (``email``).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return super().to_representation(value) or None


class BlankAsNullCharField(_BlankAsNull, serializers.CharField):
    pass


class BlankAsNullEmailField(_BlankAsNull, serializers.EmailField):
    pass


class StrictSlugField(serializers.SlugField):
    """A ``SlugField`` that takes only JSON strings (``0`` is not the slug "0")."""

    default_error_messages = {"invalid_type": _("Not a valid string.")}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_type")
        return super().to_internal_value(data)


# ModelSerializer's mapping with text model fields taking only JSON strings.
STRICT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    models.CharField: StrictCharField,
    models.TextField: StrictCharField,
}
