from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)

from customers.phones import PHONE_MAX_LENGTH, PHONE_PATTERN


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "customers.authentication.BearerAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A customer token from POST /api/v1/auth/token, or a staff token.",
        }


class PhoneFieldScheme(OpenApiSerializerFieldExtension):
    """A phone number is a string of the characters ``normalize_phone`` reads."""

    target_class = "customers.serializers.PhoneField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "pattern": PHONE_PATTERN,
            "maxLength": PHONE_MAX_LENGTH,
            "example": "+14155550123",
        }
