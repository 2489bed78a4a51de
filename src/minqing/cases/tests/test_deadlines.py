import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from minqing.audit.models import AuditLog
from minqing.cases import services
from minqing.cases.models import Case, HolidayDay
from minqing.cases.tests.helpers import accepted_case, village_case
from minqing.lib import workdays

TZ = datetime.timezone(datetime.timedelta(hours=8))
D = datetime.date


def at(*args):
    return time_machine.travel(datetime.datetime(*args, tzinfo=TZ), tick=False)


def end_of(day):
    return datetime.datetime.combine(day, datetime.time(23, 59, 59), tzinfo=TZ)


def test_working_days_skip_national_day_and_count_the_adjusted_saturday():
    assert workdays.add_workdays(D(2026, 9, 30), 1) == D(2026, 10, 8)
    assert workdays.add_workdays(D(2026, 9, 30), 3) == D(2026, 10, 10)  # 调休 Saturday
    assert workdays.add_workdays(D(2026, 10, 10), 1) == D(2026, 10, 12)
    assert workdays.add_workdays(D(2026, 9, 19), 1) == D(2026, 9, 20)  # 调休 Sunday
    assert workdays.workdays_between(D(2026, 9, 30), D(2026, 10, 12)) == 4


def test_case_deadlines_across_the_2026_national_day_holiday(cast):
    with at(2026, 9, 30, 10):
        case = village_case(cast)
        # Accept within 1 working day: October 1-7 are holidays.
        assert case.due_at == end_of(D(2026, 10, 8))
        case = services.case_assign(actor=cast.village, case=case, handler=cast.village)
    with at(2026, 9, 30, 16):
        case = village_case(cast, category="safety.fire")  # safety: answer within 5
        case = services.case_assign(actor=cast.village, case=case, handler=cast.village)
        case = services.case_accept(actor=cast.village, case=case)
    # 10-08, 10-09, 10-10 (the adjusted Saturday), 10-12, 10-13.
    assert case.due_at == end_of(D(2026, 10, 13))
    # Overdue by one working day raises it: 10-14.
    assert case.escalate_at == end_of(D(2026, 10, 14))


@pytest.mark.real_calendar
def test_a_year_the_calendar_does_not_know_is_an_explicit_error(cast):
    with pytest.raises(workdays.UnknownYear, match="2027 年"):
        workdays.is_workday(D(2027, 1, 4))
    with at(2026, 12, 21, 9):
        case = village_case(cast)  # accept by 12-22: still 2026
        case = services.case_assign(actor=cast.village, case=case, handler=cast.village)
        # Answer within 15 working days: into 2027, which nobody has entered yet.
        with pytest.raises(ValidationError, match="尚无 2027 年的法定节假日安排"):
            services.case_accept(actor=cast.village, case=case)
    assert Case.objects.get(pk=case.pk).status == "assigned"


ARRANGEMENT_2027 = """
2027-01-01~2027-01-03 休 元旦
2027-02-06~2027-02-13 休 春节
2027-02-14 班 春节
"""


@pytest.mark.real_calendar
def test_a_county_admin_enters_the_next_years_arrangement(cast):
    with pytest.raises(PermissionDenied):
        services.holiday_year_save(
            actor=cast.township, year=2027, document="国办发明电", days_text=ARRANGEMENT_2027
        )
    with pytest.raises(ValidationError, match="第 1 行"):
        services.holiday_year_save(
            actor=cast.admin, year=2027, document="国办发明电", days_text="2027-13-01 休 元旦"
        )
    with pytest.raises(ValidationError, match="内置日历"):
        services.holiday_year_save(
            actor=cast.admin, year=2026, document="x", days_text="2026-10-01 休 国庆节"
        )
    services.holiday_year_save(
        actor=cast.admin, year=2027, document="国办发明电〔2026〕12号", days_text=ARRANGEMENT_2027
    )
    assert HolidayDay.objects.filter(year_id=2027).count() == 12
    assert AuditLog.objects.filter(entity="cases.holidayyear", action="holidays").count() == 1
    workdays.forget_year(2027)
    assert workdays.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert workdays.add_workdays(D(2027, 2, 5), 1) == D(2027, 2, 14)  # the adjusted Sunday
    with at(2026, 12, 30, 9):
        case = accepted_case(cast)
    assert case.due_at.year == 2027
    with pytest.raises(workdays.UnknownYear, match="2028 年"):
        workdays.add_workdays(D(2027, 12, 31), 1)
