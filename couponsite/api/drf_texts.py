"""DRF's own error texts that its zh_Hant catalogue leaves in English.

DRF ships zh_Hans whole, but its zh_Hant lacks some of the texts the API
answers ("Authentication credentials were not provided.", "Must be a valid
boolean.", a date in the wrong format ...). Marked here, makemessages puts them
in our catalogues, which Django reads before any app's (``LOCALE_PATHS``), so
both Chinese answers come from ours. Each msgid must stay DRF's to the letter,
its ``{placeholders}`` too. Nothing imports this module: it is read by
makemessages only. ``couponsite/tests/test_api_languages.py`` fails when a
field of ours can answer a DRF text that neither catalogue translates.
"""

from django.utils.translation import gettext_noop

DRF_TEXTS = (
    # Errors (rest_framework.exceptions).
    gettext_noop("Authentication credentials were not provided."),
    gettext_noop("Incorrect authentication credentials."),
    gettext_noop("Could not satisfy the request Accept header."),
    gettext_noop("Invalid input."),
    gettext_noop("Malformed request."),
    gettext_noop('Unsupported media type "{media_type}" in request.'),
    gettext_noop("A server error occurred."),
    gettext_noop("Request was throttled."),
    # Fields (rest_framework.fields) and their validators.
    gettext_noop("Not a valid string."),
    gettext_noop("Must be a valid boolean."),
    gettext_noop("This value does not match the required pattern."),
    gettext_noop(
        'Enter a valid "slug" consisting of letters, numbers, underscores or hyphens.'
    ),
    gettext_noop(
        'Enter a valid "slug" consisting of Unicode letters, numbers, '
        "underscores, or hyphens."
    ),
    gettext_noop("Ensure that there are no more than {max_digits} digits in total."),
    gettext_noop(
        "Ensure that there are no more than {max_decimal_places} decimal places."
    ),
    gettext_noop(
        "Ensure that there are no more than {max_whole_digits} digits before "
        "the decimal point."
    ),
    gettext_noop("Integer value too large to convert to float"),
    gettext_noop("Date has wrong format. Use one of these formats instead: {format}."),
    gettext_noop(
        "Datetime has wrong format. Use one of these formats instead: {format}."
    ),
    gettext_noop("Datetime value out of range."),
    gettext_noop('Invalid datetime for the timezone "{timezone}".'),
    gettext_noop("Ensure this field has at least {min_length} elements."),
    gettext_noop("Ensure this field has no more than {max_length} elements."),
    gettext_noop('Expected a dictionary of items but got type "{input_type}".'),
    gettext_noop("This dictionary may not be empty."),
    gettext_noop("Surrogate characters are not allowed: U+{code_point:X}."),
)
