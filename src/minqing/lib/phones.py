"""Chinese phone numbers: mobiles (11 digits) and landlines with area code."""

import re

import phonenumbers
from django.utils.translation import gettext as _

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidPhone(ValueError):
    pass


def normalize_phone(raw: str) -> str:
    """The number in national digits (13812345678, 031212345678), or InvalidPhone."""
    text = str(raw or "").strip()
    if text.endswith(".0"):  # a phone typed into a numeric Excel cell
        text = text[:-2]
    if _MOBILE.match(text):  # the common case, without phonenumbers' cost (a 700k-row import)
        return text
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException:
        raise InvalidPhone(_("联系电话“%(raw)s”不是有效的电话号码") % {"raw": raw}) from None
    if parsed.country_code != 86 or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(_("联系电话“%(raw)s”不是有效的中国大陆电话号码") % {"raw": raw})
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        .replace(" ", "")
        .replace("-", "")
    )
