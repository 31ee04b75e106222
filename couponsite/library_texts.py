"""Texts our libraries mark for translation but ship no Chinese (or too little)
for.

Marked here, makemessages puts them in our catalogues, which Django reads
before any app's (``LOCALE_PATHS``), so the Chinese answers come from ours.
Each msgid must stay the library's to the letter, its placeholders too.
Nothing imports this module: it is read by makemessages only.

- DRF ships zh_Hans whole, but its zh_Hant lacks some of the texts the API
  answers ("Authentication credentials were not provided.", "Must be a valid
  boolean.", a date in the wrong format ...).
  ``couponsite/tests/test_api_languages.py`` fails when a field of ours can
  answer a DRF text that neither catalogue translates.
- Django 6's admin and sessions app, and django-tasks-db, have texts on the
  back office's pages with no Chinese;
  ``couponsite/tests/test_back_office_in_chinese.py`` finds them.
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


# The back office: django-tasks-db's model names (its app's name is
# ``couponsite.background.app``'s); Django 6's admin's date filter and blank
# choice; the sessions app's name (on the permissions of a role's page).
BACK_OFFICE_TEXTS = (
    gettext_noop("Task Result"),
    gettext_noop("Task Results"),
    gettext_noop("Filter by %(field_name)s"),
    gettext_noop("- Select an option -"),
    gettext_noop("Sessions"),
)
