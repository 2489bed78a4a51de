"""Two people, or several sweeps, at the same moment: real threads on the real database."""

import datetime

import time_machine

from minqing.cases import services
from minqing.cases.models import Case, CaseEvent, CaseLevel, Notification, Status
from minqing.cases.selectors import my_cases
from minqing.cases.tests.helpers import ready_to_close, village_case
from minqing.testing import run_at_once

TZ = datetime.timezone(datetime.timedelta(hours=8))


def test_two_people_press_close_at_once_one_wins(flushable_db, cast):
    case = ready_to_close(cast)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    results = run_at_once(
        lambda: services.case_close(actor=cast.village, case=first),
        lambda: services.case_close(actor=cast.admin, case=second),
    )
    won = [r for r in results if isinstance(r, Case)]
    lost = [r for r in results if isinstance(r, str)]
    assert len(won) == 1 and len(lost) == 1
    assert "刚刚已被他人处理（现为“已销号”）" in lost[0]
    assert CaseEvent.objects.filter(case=case, action="close").count() == 1
    assert Case.objects.get(pk=case.pk).status == Status.CLOSED


def test_registrations_at_once_get_distinct_numbers(flushable_db, cast):
    results = run_at_once(*[lambda: village_case(cast) for _ in range(4)])
    numbers = [r.number for r in results]
    assert len(set(numbers)) == 4


def test_three_sweeps_at_once_escalate_an_overdue_village_case_once(flushable_db, cast, diaowo):
    with time_machine.travel(datetime.datetime(2026, 9, 28, 9, tzinfo=TZ), tick=False):
        case = village_case(cast)
    # Accept by 09-29; overdue by 3 working days (09-30, 10-08, 10-09): escalate after 10-09.
    with time_machine.travel(datetime.datetime(2026, 10, 10, 9, tzinfo=TZ), tick=False):
        reports = run_at_once(*[services.sweep for _ in range(3)])
    assert sum(len(r.escalated) for r in reports) == 1
    assert sum(len(r.marked_overdue) for r in reports) == 1
    case = Case.objects.get(pk=case.pk)
    assert case.level == CaseLevel.TOWNSHIP and case.status == Status.ESCALATED
    assert case.escalated_count == 1
    assert CaseEvent.objects.filter(case=case, action="escalate").count() == 1
    assert Notification.objects.filter(case=case, unit__name="刁窝镇人民政府").exists()
    # On the township officer's list of cases to dispatch.
    assert [c.pk for c in my_cases(diaowo).assign] == [case.pk]
    assert my_cases(cast.village).assign == []


def test_the_sweep_command_and_task_report_what_they_did(cast, diaowo):
    from io import StringIO

    from django.core.management import call_command

    from minqing.cases.tasks import sweep_cases

    with time_machine.travel(datetime.datetime(2026, 9, 28, 9, tzinfo=TZ), tick=False):
        case = village_case(cast)
    with time_machine.travel(datetime.datetime(2026, 9, 30, 9, tzinfo=TZ), tick=False):
        out = StringIO()
        call_command("sweep", stdout=out)
        assert "标记逾期 1 件，自动升级 0 件" in out.getvalue()
    with time_machine.travel(datetime.datetime(2026, 10, 10, 9, tzinfo=TZ), tick=False):
        result = sweep_cases.enqueue()
    assert result.return_value["escalated"] == [case.number]
    assert Case.objects.get(pk=case.pk).level == CaseLevel.TOWNSHIP
