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
