"""The languages customers are answered in, and how amounts and times read in each.

``LocaleMiddleware`` picks a request's language from ``Accept-Language``
(``settings.LANGUAGES``: en, zh-hant, zh-hans); a customer's saved language
takes over at authentication (``customers.authentication``). Texts and
emails sent to a customer render in ``message_language``: theirs when saved,
else the request's. Amounts carry their currency's symbol (HK$, NT$, US$) and
the language's digit grouping; times are in the campaign's zone, in the
language's own pattern (babel's CLDR data).
"""

import datetime as dt
import functools
from decimal import Decimal
from types import SimpleNamespace

from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal
from django.conf import settings
from django.utils import translation

# Symbols that say which dollar, in every language (CLDR's own differ by locale:
# "$" is TWD in zh-Hant and USD in en).
CURRENCY_SYMBOLS = {"HKD": "HK$", "TWD": "NT$", "USD": "US$"}

# Django's language codes and babel's (CLDR's) locales.
_BABEL_LOCALES = {"en": "en", "zh-hant": "zh_Hant", "zh-hans": "zh_Hans"}


def message_language(language: str | None = None) -> str:
    """The language of a text or email: the customer's saved one, else the
    active (the request's) one, else the default."""
    return language or translation.get_language() or settings.LANGUAGE_CODE


def babel_locale(language: str | None = None) -> str:
    return _BABEL_LOCALES.get(message_language(language), "en")


@functools.lru_cache(maxsize=256)
def request_language(accept_language: str) -> str:
    """The language ``LocaleMiddleware`` answers a request with this
    ``Accept-Language`` in (and no language cookie): its first supported
    choice, else ``LANGUAGE_CODE``; Django's own choice, asked once per header."""
    asking = SimpleNamespace(COOKIES={}, META={"HTTP_ACCEPT_LANGUAGE": accept_language})
    return translation.get_language_from_request(asking)


def format_money(amount: Decimal, currency: str, language: str | None = None) -> str:
    """``HK$1,234.50``: the currency's symbol (its ISO code when not one of
    ours), the amount with two decimals and the language's grouping."""
    symbol = CURRENCY_SYMBOLS.get(currency)
    number = format_decimal(
        Decimal(amount), format="#,##0.00", locale=babel_locale(language)
    )
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def format_datetime(
    value: dt.datetime, zone: dt.tzinfo, language: str | None = None
) -> str:
    """A moment in ``zone`` (the campaign's), in the language's medium pattern
    without seconds: ``May 1, 2026, 9:00 PM``, ``2026年5月1日 晚上9:00``."""
    locale = babel_locale(language)
    pattern = {"en": "MMM d, y, h:mm a", "zh_Hant": "y年M月d日 ah:mm"}.get(
        locale, "y年M月d日 HH:mm"
    )
    return babel_format_datetime(value.astimezone(zone), pattern, locale=locale)
