import datetime
import io

import python_calamine
import time_machine

from minqing.cases import services
from minqing.cases.models import Case, CaseEvent, HolidayDay, Status
from minqing.cases.tests.helpers import answered_case, fresh, ready_to_close, village_case

TZ = datetime.timezone(datetime.timedelta(hours=8))


def test_the_ledger_lists_cases_in_reach_with_filters(
    cast, client_for, django_assert_max_num_queries
):
    case = village_case(cast)
    other = village_case(cast, text="申请低保", category="relief.dibao")
    services.case_escalate(actor=cast.village, case=other, reason="村里定不了")
    client = client_for(cast.admin)
    with django_assert_max_num_queries(12):
        page = client.get("/cases/").content.decode()
    assert case.number in page and other.number in page
    page = client.get("/cases/?level=township").content.decode()
    assert other.number in page and case.number not in page
    page = client.get("/cases/?category=relief").content.decode()
    assert other.number in page and case.number not in page
    assert case.number not in client_for(cast.outsider).get("/cases/").content.decode()
    bad = client.get("/cases/?due_before=2026-13-01").content.decode()
    assert "不是有效日期" in bad
    assert client.post("/cases/").status_code == 405


def test_the_ledger_queries_do_not_grow_with_the_rows(cast, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(cast.admin)
    village_case(cast)
    with CaptureQueriesContext(connection) as one:
        client.get("/cases/")
    for _ in range(4):
        village_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    with CaptureQueriesContext(connection) as five:
        client.get("/cases/")
    assert len(five) == len(one)


def test_the_ledger_pages_with_a_cursor(cast, client_for):
    numbers = [village_case(cast).number for _ in range(3)]
    from minqing.cases import views

    original, views.PAGE_SIZE = views.PAGE_SIZE, 2
    try:
        client = client_for(cast.admin)
        first = client.get("/cases/").content.decode()
        assert numbers[2] in first and numbers[0] not in first
        import re

        following = re.search(r'href="(\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
        second = client.get("/cases/" + following).content.decode()
        assert numbers[0] in second and numbers[2] not in second
    finally:
        views.PAGE_SIZE = original


def test_the_case_page_shows_the_timeline_and_is_404_out_of_reach(cast, client_for):
    case = answered_case(cast)
    page = client_for(cast.admin).get(f"/cases/{case.pk}/").content.decode()
    assert "办结反馈" in page and "已更换路灯" in page and "核查通过" in page
    assert client_for(cast.outsider).get(f"/cases/{case.pk}/").status_code == 404
    assert client_for(cast.township).get(f"/cases/{case.pk}/").status_code == 404


def test_closing_from_the_page_and_a_second_press_is_told(cast, client_for):
    case = ready_to_close(cast)
    client = client_for(cast.village)
    response = client.post(f"/cases/{case.pk}/do/close/", {"close-note": "已办好"}, follow=True)
    assert "已完成：销号" in response.content.decode()
    assert fresh(case).status == Status.CLOSED
    again = client_for(cast.admin).post(f"/cases/{case.pk}/do/close/", {}, follow=True)
    assert "当前为“已销号”，不能销号" in again.content.decode()
    assert CaseEvent.objects.filter(case=case, action="close").count() == 1


def test_a_read_only_user_cannot_move_a_case(cast, client_for):
    case = village_case(cast)
    assert client_for(cast.village).get(f"/cases/{case.pk}/do/escalate/").status_code == 405
    outsider = client_for(cast.outsider).post(
        f"/cases/{case.pk}/do/escalate/", {"escalate-reason": "x"}
    )
    assert outsider.status_code == 404
    assert client_for(cast.village).post(f"/cases/{case.pk}/do/nope/").status_code == 404
    response = client_for(cast.viewer).post(
        f"/cases/{case.pk}/do/escalate/", {"escalate-reason": "x"}, follow=True
    )
    assert "不能对案件" in response.content.decode()
    assert fresh(case).status == Status.REGISTERED


def test_the_township_officer_sees_a_case_the_sweep_escalated(cast, diaowo, client_for):
    with time_machine.travel(datetime.datetime(2026, 9, 28, 9, tzinfo=TZ), tick=False):
        case = village_case(cast)
    with time_machine.travel(datetime.datetime(2026, 10, 10, 9, tzinfo=TZ), tick=False):
        services.sweep()
        services.sweep()
        page = client_for(diaowo).get("/cases/mine/").content.decode()
    assert case.number in page
    assert "已升级至乡级办理" in page  # the notice to the township's unit
    assert CaseEvent.objects.filter(case=case, action="escalate").count() == 1


def test_registering_from_a_household_prefills_and_shows_similar_cases(cast, client_for):
    from minqing.households.models import Household

    household = Household.objects.create(region_id="130681107228", head_name="王大")
    first = village_case(cast, household=household)
    client = client_for(cast.village)
    page = client.get(f"/cases/new/?household={household.pk}&text=路灯坏了&source=visit")
    assert 'value="130681107228"' in page.content.decode()
    response = client.post(
        "/cases/new/",
        {
            "region": "130681107228",
            "source": "visit",
            "category": "utilities.power",
            "text": "村东头的路灯还是坏的",
            "household": household.pk,
        },
    )
    new = Case.objects.exclude(pk=first.pk).get()
    assert response.status_code == 302 and new.household_id == household.pk
    similar = client.get(
        "/cases/similar/",
        {"region": "130681107228", "text": "路灯坏了", "category": "utilities.power"},
    ).content.decode()
    assert first.number in similar


def test_the_supervision_board_lists_supervised_cases(cast, client_for):
    case = village_case(cast)
    services.case_supervise(
        actor=cast.supervisor, case=case, note="月底前解决", until=datetime.date(2099, 1, 31)
    )
    page = client_for(cast.admin).get("/cases/board/").content.decode()
    assert case.number in page and "月底前解决" in page


def test_figures_link_to_their_rows(cast, client_for):
    with time_machine.travel(datetime.datetime(2026, 11, 2, 9, tzinfo=TZ), tick=False):
        closed = ready_to_close(cast)
        services.case_close(actor=cast.village, case=closed)
        village_case(cast)
        page = client_for(cast.admin).get("/cases/figures/?from=2026-01-01&to=2026-12-31")
    html = page.content.decode()
    assert "刁窝镇" in html and "50.0%" in html  # resolution: 1 closed of 2 received
    rows = (
        client_for(cast.admin)
        .get("/cases/?figure=resolved&from=2026-01-01&to=2026-12-31&region=130681107")
        .content.decode()
    )
    assert closed.number in rows
    assert rows.count("130681-2026-") == 1


def test_the_excel_export_masks_petitions(cast, client_for):
    village_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    response = client_for(cast.supervisor).get("/cases/export.xlsx")
    data = b"".join(response.streaming_content)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    rows = book.get_sheet_by_index(0).to_python()
    assert rows[0][:3] == ["序号", "案件编号", "乡镇（街道）"]
    assert rows[1][2] == "刁窝镇" and rows[1][7] == "（信访内容已隐藏）"
    full = b"".join(client_for(cast.admin).get("/cases/export.xlsx").streaming_content)
    rows = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(full))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert "征地补偿" in rows[1][7]
    from minqing.audit.models import AuditLog

    assert (
        AuditLog.objects.filter(
            action="export_personal", entity="cases.case", actor=cast.admin
        ).count()
        == 1
    )
    assert not AuditLog.objects.filter(action="export_personal", actor=cast.supervisor).exists()


def test_holidays_page_is_for_the_county_admin(cast, client_for):
    assert client_for(cast.township).get("/cases/holidays/").status_code == 403
    client = client_for(cast.admin)
    response = client.post(
        "/cases/holidays/",
        {
            "year": 2027,
            "document": "国办发明电〔2026〕12号",
            "days": "2027-01-01~2027-01-03 休 元旦\n2027-02-14 班 春节",
        },
    )
    assert response.status_code == 302
    assert HolidayDay.objects.filter(year_id=2027).count() == 4
    bad = client.post("/cases/holidays/", {"year": 2027, "document": "x", "days": "明天 休 元旦"})
    assert "第 1 行" in bad.content.decode()
    assert HolidayDay.objects.filter(year_id=2027).count() == 4


def test_the_county_admin_is_reminded_to_enter_next_years_holidays(cast, client_for):
    with time_machine.travel(datetime.datetime(2026, 12, 2, 9, tzinfo=TZ), tick=False):
        home = client_for(cast.admin).get("/").content.decode()
        assert "2027 年节假日安排尚未录入" in home
        assert "2027 年节假日安排尚未录入" not in client_for(cast.village).get("/").content.decode()
        services.holiday_year_save(
            actor=cast.admin, year=2027, document="国办发明电", days_text="2027-01-01 休 元旦"
        )
        assert "节假日安排尚未录入" not in client_for(cast.admin).get("/").content.decode()


def test_my_cases_on_the_home_page(cast, client_for):
    case = village_case(cast)
    services.case_assign(actor=cast.village, case=case, handler=cast.paired)
    home = client_for(cast.paired).get("/").content.decode()
    assert "待签收的案件" in home


def test_the_household_page_lists_its_cases(cast, client_for):
    from minqing.households.models import Household

    household = Household.objects.create(region_id="130681107228", head_name="王大")
    case = village_case(cast, household=household)
    page = client_for(cast.village).get(f"/households/{household.pk}/").content.decode()
    assert "诉求案件" in page and case.number in page


def test_the_ledger_filters_by_township(cast, client_for):
    case = village_case(cast)
    client = client_for(cast.admin)
    page = client.get("/cases/").content.decode()
    assert '<option value="130681107">刁窝镇</option>' in page
    assert case.number in client.get("/cases/?region=130681107").content.decode()
    assert case.number not in client.get("/cases/?region=130681001").content.decode()


def test_figures_by_unit(cast, diaowo, client_for):
    case = village_case(cast)
    services.case_escalate(actor=cast.village, case=case, reason="村里解决不了")
    html = client_for(cast.admin).get("/cases/figures/?by=unit").content.decode()
    assert "刁窝镇人民政府" in html
    assert "unit=" in html


def test_under_a_deadline_filter_the_most_urgent_come_first_page_by_page(
    cast, client_for, monkeypatch
):
    from minqing.cases import api

    numbers = {}
    for day in (28, 21, 25, 10):  # registered on 2026-09-<day>, 10-10 past the cut
        month = 10 if day == 10 else 9
        with time_machine.travel(datetime.datetime(2026, month, day, 9, tzinfo=TZ), tick=False):
            numbers[day] = village_case(cast).number
    monkeypatch.setattr(api, "PAGE_SIZE", 2)
    client = client_for(cast.admin)
    first = client.get("/api/cases?due_before=2026-10-01").json()
    assert [row["number"] for row in first["items"]] == [numbers[21], numbers[25]]
    second = client.get(f"/api/cases?due_before=2026-10-01&after={first['next']}").json()
    assert [row["number"] for row in second["items"]] == [numbers[28]]
    assert second["next"] is None
    page = client.get("/cases/?due_before=2026-10-01").content.decode()
    assert page.index(numbers[21]) < page.index(numbers[25]) < page.index(numbers[28])
    assert numbers[10] not in page
