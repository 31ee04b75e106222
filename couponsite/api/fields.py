"""Serializer fields shared by the apps' answers."""

from rest_framework import serializers


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
