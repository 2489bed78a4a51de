import datetime
import re

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from minqing.audit.models import AuditLog
from minqing.cases import services
from minqing.cases.models import (
    Case,
    CaseEvent,
    CaseLevel,
    Extension,
    Outcome,
    Rating,
    Status,
)
from minqing.cases.selectors import case_timeline, get_case_by_number, similar_open_cases
from minqing.cases.tests.helpers import (
    accepted_case,
    answered_case,
    fresh,
    ready_to_close,
    village_case,
)
from minqing.regions.models import Region
from minqing.testing import WANQUANZHUANG

TZ = datetime.timezone(datetime.timedelta(hours=8))


def at(*args):
    return time_machine.travel(datetime.datetime(*args, tzinfo=TZ), tick=False)


def test_case_numbers_read_county_year_sequence(cast):
    with at(2026, 3, 2, 9):
        first = village_case(cast)
        second = village_case(cast, text="自来水停了三天")
    assert re.fullmatch(r"130681-2026-\d{5}", first.number)
    assert first.number == "130681-2026-00001"
    assert second.number == "130681-2026-00002"
    with at(2027, 1, 4, 9):
        # A new year starts its own sequence (2027's calendar is entered first).
        services.holiday_year_save(
            actor=cast.admin,
            year=2027,
            document="国办发明电〔2026〕5号",
            days_text="2027-01-01 休 元旦",
        )
        assert village_case(cast).number == "130681-2027-00001"


def test_registration_writes_history_and_audit_without_the_text(cast):
    case = village_case(cast, text="邻居占用宅基地，多次协商不成", category="land.homestead")
    assert case.status == Status.REGISTERED
    assert case.level == CaseLevel.VILLAGE
    assert case.kind == "dispute"
    assert case.dispute is not None
    assert list(case.events.values_list("action", flat=True)) == ["register"]
    row = AuditLog.objects.get(entity="cases.case", entity_id=str(case.pk), action="create")
    assert row.changes["number"] == [None, case.number]
    assert "宅基地" not in str(row.changes)


def test_registration_refuses_out_of_reach_and_read_only(cast):
    region = Region.objects.get(code=WANQUANZHUANG)
    with pytest.raises(PermissionDenied):
        services.case_register(
            cast.outsider, source="visit", region=region, text="x", category_code="utilities.power"
        )
    with pytest.raises(PermissionDenied):
        services.case_register(
            cast.viewer, source="visit", region=region, text="x", category_code="utilities.power"
        )
    with pytest.raises(ValidationError, match="二级类别"):
        services.case_register(
            cast.village, source="visit", region=region, text="x", category_code="utilities"
        )
    assert not Case.objects.exists()


def test_the_whole_life_of_a_case_ends_struck_off(cast):
    case = ready_to_close(cast)
    case = services.case_close(actor=cast.village, case=case)
    assert case.status == Status.CLOSED
    assert case.closed_at and case.due_at is None and case.sweep_at is None
    assert list(case.events.order_by("id").values_list("action", flat=True)) == [
        "register",
        "assign",
        "accept",
        "answer",
        "verify",
        "contact",
        "close",
    ]
    assert AuditLog.objects.filter(entity_id=str(case.pk), action="close").count() == 1


def test_a_case_cannot_be_closed_without_verification_by_another_person(cast):
    case = answered_case(cast)
    with pytest.raises(PermissionDenied, match="承办人以外"):
        services.case_verify(actor=cast.village, case=case, passed=True)
    with pytest.raises(ValidationError, match="核查后才能销号"):
        services.case_close(actor=cast.village, case=case)
    assert fresh(case).status == Status.ANSWERED


def test_a_case_cannot_be_closed_without_a_return_contact(cast):
    case = answered_case(cast)
    case = services.case_verify(actor=cast.admin, case=case, passed=True)
    with pytest.raises(ValidationError, match="须回访群众"):
        services.case_close(actor=cast.village, case=case)
    assert fresh(case).status == Status.VERIFIED
    assert not CaseEvent.objects.filter(case=case, action="close").exists()


def test_not_satisfied_reopens_the_case(cast):
    case = answered_case(cast)
    services.return_contact_record(
        actor=cast.admin, case=case, rating=Rating.NOT, method="visit", note="路灯又坏了"
    )
    case = fresh(case)
    assert case.status == Status.REOPENED
    assert case.reopened_count == 1
    assert case.due_at is not None


def test_a_supervisors_reasoned_exception_keeps_not_satisfied_from_reopening(cast):
    case = answered_case(cast)
    case = services.case_verify(actor=cast.supervisor, case=case, passed=True)
    with pytest.raises(PermissionDenied):
        services.return_contact_record(
            actor=cast.admin,
            case=case,
            rating=Rating.NOT,
            method="phone",
            exception_reason="诉求无政策依据",
        )
    services.return_contact_record(
        actor=cast.supervisor,
        case=case,
        rating=Rating.NOT,
        method="phone",
        exception_reason="诉求无政策依据，已解释到位",
    )
    case = services.case_close(actor=cast.village, case=fresh(case))
    assert case.status == Status.CLOSED


def test_a_move_from_the_wrong_status_is_refused_in_chinese(cast):
    case = village_case(cast)
    with pytest.raises(ValidationError, match="当前为“已登记”，不能办结反馈"):
        services.case_answer(actor=cast.village, case=case, outcome="solved", answer="已修")


def test_a_stale_press_is_told_someone_else_acted(cast):
    case = ready_to_close(cast)
    stale = fresh(case)
    services.case_close(actor=cast.village, case=case)
    with pytest.raises(ValidationError, match="刚刚已被他人处理（现为“已销号”）"):
        services.case_close(actor=cast.admin, case=stale)
    assert CaseEvent.objects.filter(case=case, action="close").count() == 1


def test_send_back_needs_reason_basis_and_the_time_limit(cast):
    with at(2026, 9, 28, 9):
        case = village_case(cast)
        case = services.case_assign(actor=cast.village, case=case, handler=cast.paired)
    with pytest.raises(ValidationError, match="退单依据"):
        services.case_send_back(actor=cast.paired, case=case, reason="不属于本村", basis="")
    # The limit is the end of the next working day, 09-29.
    with at(2026, 9, 30, 9), pytest.raises(ValidationError, match="1 个工作日内"):
        services.case_send_back(
            actor=cast.paired, case=case, reason="不属于本村", basis="属地管理规定"
        )
    with at(2026, 9, 29, 17):
        case = services.case_send_back(
            actor=cast.paired, case=case, reason="不属于本村", basis="属地管理规定"
        )
    assert case.status == Status.SENT_BACK and case.sent_back_count == 1
    event = case.events.get(action="send_back")
    assert event.note == "不属于本村" and event.data == {"basis": "属地管理规定"}


def test_escalation_goes_village_township_county_and_stops(cast, diaowo):
    case = village_case(cast)
    case = services.case_escalate(actor=cast.village, case=case, reason="村里解决不了")
    assert case.level == CaseLevel.TOWNSHIP and case.status == Status.ESCALATED
    assert case.unit.name == "刁窝镇人民政府"
    with pytest.raises(PermissionDenied):  # no longer the village's to run
        services.case_escalate(actor=cast.village, case=case, reason="再升")
    case = services.case_escalate(actor=diaowo, case=case, reason="涉及多个部门")
    assert case.level == CaseLevel.COUNTY and case.escalated_count == 2
    with pytest.raises(ValidationError, match="最高层级"):
        services.case_escalate(actor=cast.admin, case=case, reason="再升")


def test_an_extension_needs_approval_by_another_and_is_counted(cast):
    with at(2026, 9, 28, 9):
        case = accepted_case(cast)
    due = case.due_at
    request = services.extension_request(
        actor=cast.village, case=case, workdays=2, reason="需要等待供电公司备件"
    )
    with pytest.raises(PermissionDenied):
        services.extension_decide(actor=cast.village, extension=request, approve=True)
    services.extension_decide(actor=cast.admin, extension=request, approve=True, note="同意")
    case = fresh(case)
    assert case.extension_count == 1
    assert case.due_at > due
    assert Extension.objects.get().status == "approved"


def test_merging_keeps_both_histories_and_the_pair_shows_once(cast):
    first = village_case(cast)
    second = village_case(cast, text="村东头路灯坏了好几天了")
    second = services.case_merge(actor=cast.village, case=second, into=first, reason="同一事项")
    assert second.status == Status.MERGED and second.merged_into_id == first.pk
    actions = [(e.case_id, e.action) for e in case_timeline(first)]
    assert (second.pk, "register") in actions and (second.pk, "merge") in actions
    assert (first.pk, "merged_in") in actions
    assert Case.objects.exclude(status=Status.MERGED).count() == 1


def test_similar_open_cases_of_the_village_are_found(cast):
    first = village_case(cast)
    village_case(cast, text="申请低保", category="relief.dibao")
    found = similar_open_cases(
        cast.village,
        text="村东头路灯不亮了",
        region_code=WANQUANZHUANG,
        category_id=first.category_id,
    )
    assert [case.pk for case, score in found] == [first.pk]


def test_get_case_by_number_is_scoped(cast):
    case = village_case(cast)
    assert get_case_by_number(cast.admin, case.number).pk == case.pk
    from django.http import Http404

    with pytest.raises(Http404):
        get_case_by_number(cast.outsider, case.number)
    with pytest.raises(Http404):
        get_case_by_number(cast.township, case.number)  # 双塔街道 does not reach 刁窝镇


def test_supervision_puts_a_case_on_the_board(cast):
    from minqing.cases.selectors import supervision_board

    case = village_case(cast)
    with pytest.raises(PermissionDenied):
        services.case_supervise(
            actor=cast.admin, case=case, note="限期解决", until=datetime.date(2099, 1, 1)
        )
    services.case_supervise(
        actor=cast.supervisor, case=case, note="限期解决", until=datetime.date(2099, 1, 1)
    )
    assert [c.pk for c in supervision_board(cast.admin)] == [case.pk]
    assert supervision_board(cast.outsider) == []


def test_petition_text_is_masked_for_readers_without_the_permission(cast):
    from minqing.cases.selectors import get_case_for_user

    case = village_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    shown, _ = get_case_for_user(cast.supervisor, case.pk)
    assert "征地" not in shown.shown_title + shown.shown_text
    shown, _ = get_case_for_user(cast.admin, case.pk)
    assert "征地" in shown.shown_text


def test_threat_to_life_must_be_accepted_within_fifteen_minutes(cast):
    with at(2026, 10, 3, 22, 0):  # a holiday night: minutes are minutes
        case = village_case(cast, text="山体裂缝，房屋有倒塌危险", category="safety.life")
    assert case.due_at == datetime.datetime(2026, 10, 3, 22, 15, tzinfo=TZ)


def test_answer_is_recorded_with_on_time_flags(cast):
    case = accepted_case(cast)
    assert case.accepted_on_time is True
    case = services.case_answer(
        actor=cast.village, case=case, outcome=Outcome.EXPLAINED, answer="已解释"
    )
    assert case.answered_on_time is True and case.due_at is None
    with pytest.raises(ValidationError, match="办理结果"):
        services.case_answer(actor=cast.village, case=accepted_case(cast), outcome="x", answer="x")


def test_the_figure_flags_follow_every_change(cast, diaowo):
    from minqing.cases.figures import BITS, COUNTS

    with at(2026, 9, 28, 9):
        closed = ready_to_close(cast)
        services.case_close(actor=cast.village, case=closed)
        reopened = answered_case(cast)
        services.return_contact_record(
            actor=cast.admin, case=reopened, rating=Rating.NOT, method="phone"
        )
        escalated = village_case(cast)
        services.case_escalate(actor=cast.village, case=escalated, reason="村里解决不了")
        late = village_case(cast, text="自来水停了")
        merged = village_case(cast)
        services.case_merge(actor=cast.village, case=merged, into=late)
    with at(2026, 9, 30, 9):  # overdue, not yet escalated
        services.sweep()
    for case in Case.objects.all():
        for name, q in COUNTS.items():
            expected = Case.objects.filter(pk=case.pk).filter(q).exists()
            assert bool(case.flags & BITS[name]) == expected, (case.number, name)
