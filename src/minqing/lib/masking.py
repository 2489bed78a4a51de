"""How personal data looks to someone who may not see it in full."""


def mask_id_number(number: str) -> str:
    """110105194912310021 -> 110105********0021"""
    if not number:
        return ""
    return (
        number[:6] + "*" * (len(number) - 10) + number[-4:]
        if len(number) > 10
        else "*" * len(number)
    )


def mask_phone(number: str) -> str:
    """13812345678 -> 138****5678; landlines keep the area code and the last four."""
    if not number:
        return ""
    if len(number) <= 7:
        return "*" * (len(number) - 4) + number[-4:]
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def mask_quoted(message: str, value: str, *, phone: bool = False) -> str:
    """``message`` with ``value``, a number as it was typed, masked wherever it is quoted: a
    refusal must not hand a full number back to a user who may not see it. A value too short
    to be anyone's number stays as typed, so that the typo can be seen."""
    value = str(value or "")
    if len(value.strip()) < (7 if phone else 10):
        return message
    return message.replace(value, mask_phone(value) if phone else mask_id_number(value))
