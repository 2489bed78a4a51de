"""身份证号 (GB 11643-1999) checks with messages that say what is wrong, in the order a
clerk can act on: length, characters, birth date, then check digit."""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum.cn import ric


class InvalidIdNumber(ValueError):
    pass


@dataclass(frozen=True)
class IdNumber:
    number: str  # 18 characters, upper-case X
    birth_date: datetime.date
    sex: str  # "M" or "F", from the 17th digit (odd: male)

    @property
    def tail(self) -> str:
        return self.number[-4:]


def parse_id_number(raw: str, *, today: datetime.date | None = None) -> IdNumber:
    number = str(raw or "").replace(" ", "").replace("-", "").strip().upper()
    if len(number) != 18:
        raise InvalidIdNumber(
            _("身份证号应为18位，“%(raw)s”是%(n)d位") % {"raw": raw, "n": len(number)}
        )
    if not number[:17].isdigit() or not (number[17].isdigit() or number[17] == "X"):
        raise InvalidIdNumber(
            _("身份证号“%(raw)s”含有非法字符：前17位应为数字，末位为数字或X") % {"raw": raw}
        )
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber(
            _("身份证号“%(raw)s”中的出生日期 %(date)s 不存在") % {"raw": raw, "date": number[6:14]}
        ) from None
    today = today or datetime.date.today()
    if birth > today or birth.year < 1890:
        raise InvalidIdNumber(
            _("身份证号“%(raw)s”中的出生日期 %(date)s 不可能")
            % {"raw": raw, "date": birth.isoformat()}
        )
    expected = ric.calc_check_digit(number)
    if number[17] != expected:
        raise InvalidIdNumber(
            _("身份证号“%(raw)s”校验位错误：末位应为 %(expected)s")
            % {"raw": raw, "expected": expected}
        )
    return IdNumber(number=number, birth_date=birth, sex="M" if int(number[16]) % 2 else "F")


def make_id_number(region6: str, birth: datetime.date, sequence: int) -> str:
    """A valid number for demo data and tests: region, birth date, 3-digit sequence, check."""
    body = f"{region6}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # it reads the first 17 of 18
