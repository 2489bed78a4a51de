"""The outreach pages: what each user sees, the refusals, and that every figure leads to its
rows."""

import datetime
import html
import io
import re

import pytest
from django.utils import translation
from python_calamine import CalamineWorkbook

from minqing.cases.models import Case
from minqing.outreach import hooks
from minqing.outreach.models import Enrolment, Need, Pairing, Visit
from minqing.outreach.services import visit_log
from minqing.outreach.tests.conftest import at, visit_input
from minqing.testing import DIAOWO, WANQUANZHUANG


def test_the_county_coverage_page_shows_figures_townships_and_cadres(paired, cast, client_for):
    world = paired
    visit_log(actor=cast.paired, campaign=world.campaign, household=world.wang, data=visit_input())
    body = client_for(cast.admin).get(f"/outreach/{world.campaign.pk}/").content.decode()
    assert 'data-figure="households">6<' in body
    assert 'data-figure="round-1">1<' in body
    assert 'data-figure="unpaired">2<' in body
    assert "刁窝镇" in body and "双塔街道" in body
    assert "赵明" in body
    assert "coverage-series" in body


def test_a_township_officer_sees_only_their_township(paired, cast, client_for):
    client = client_for(cast.township)
    body = client.get(f"/outreach/{paired.campaign.pk}/").content.decode()
    assert 'data-figure="households">1<' in body  # 刘芳 only
    assert client.get(f"/outreach/{paired.campaign.pk}/?region={DIAOWO}").status_code == 404


def test_an_outsider_does_not_find_the_campaign(paired, cast, client_for):
    assert client_for(cast.outsider).get(f"/outreach/{paired.campaign.pk}/").status_code == 404


def test_the_gap_list_names_the_paired_cadre(paired, cast, client_for, time_machine):
    time_machine.move_to(at(20, 10), tick=False)
    client = client_for(cast.admin)
    for region in ("130681", DIAOWO, WANQUANZHUANG):
        body = client.get(
            f"/outreach/{paired.campaign.pk}/households/?region={region}&show=overdue"
        ).content.decode()
        assert "张三" in body and "赵明" in body and "逾期" in body
        assert "王五" not in body
    body = client.get(
        f"/outreach/{paired.campaign.pk}/households/?region=130681001&show=overdue"
    ).content.decode()
    assert "双塔街道" in body and "张三" not in body


@pytest.mark.parametrize("region", ["1306811", "13068110", "1306811072", "130681999"])
def test_a_region_filter_that_names_no_region_is_404(paired, cast, client_for, region):
    """1306811 is the first digit of 刁窝镇's township code: not a region of its own, so it
    must not answer with figures under a township's name."""
    client = client_for(cast.admin)
    assert client.get(f"/outreach/{paired.campaign.pk}/?region={region}").status_code == 404
    assert (
        client.get(f"/api/outreach/campaigns/{paired.campaign.pk}/gaps?region={region}").status_code
        == 404
    )


def test_the_round_figure_lists_the_visited_households(paired, cast, client_for):
    visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    client = client_for(cast.admin)
    visited = client.get(
        f"/outreach/{paired.campaign.pk}/households/?show=round&k=1"
    ).content.decode()
    missing = client.get(
        f"/outreach/{paired.campaign.pk}/households/?show=missing&k=1"
    ).content.decode()
    assert "王五" in visited and "赵六" not in visited
    assert "王五" not in missing and "赵六" in missing


def test_my_households_page_lists_what_is_due_with_a_start_button(paired, cast, client_for):
    body = client_for(cast.paired).get("/outreach/mine/").content.decode()
    assert body.count("开始走访") == 4
    assert f"/outreach/{paired.campaign.pk}/visit/{paired.zhang.pk}/" in body


def test_logging_a_visit_through_the_form(paired, cast, client_for):
    client = client_for(cast.paired)
    url = f"/outreach/{paired.campaign.pk}/visit/{paired.zhao.pk}/"
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "visited_at": "2026-06-15T09:30",
            "address": "西街1号",
            "aspects": ["生活", "政策落实"],
            "found": "取暖煤不够",
            "needs": "申请取暖补贴\n修缮院墙",
            "companions": [cast.village.pk],
            "client_id": "form-1",
        },
    )
    visit = Visit.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/outreach/visits/{visit.pk}/"
    assert visit.aspects == ["生活", "政策落实"]
    assert list(visit.companions.all()) == [cast.village]
    assert list(Need.objects.values_list("text", flat=True)) == ["申请取暖补贴", "修缮院墙"]
    # Posting the same form again (the signal dropped before the answer came) saves nothing new.
    client.post(url, {"visited_at": "2026-06-15T09:30", "client_id": "form-1"})
    assert Visit.objects.count() == 1


def test_a_refused_visit_form_says_why(paired, cast, client_for):
    response = client_for(cast.paired).post(
        f"/outreach/{paired.campaign.pk}/visit/{paired.zhao.pk}/",
        {"visited_at": "2026-05-01T09:30"},
    )
    assert response.status_code == 200
    assert "不在活动" in response.content.decode()
    assert Visit.objects.count() == 0


def test_a_viewer_may_not_log_a_visit(paired, cast, client_for):
    response = client_for(cast.viewer).get(
        f"/outreach/{paired.campaign.pk}/visit/{paired.zhao.pk}/"
    )
    assert response.status_code == 403


def test_a_need_opens_the_filled_case_form_and_the_case_links_back(
    paired, cast, client_for, monkeypatch
):
    visit, _ = visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(needs=["东屋屋顶漏雨，需修缮"]),
    )
    need = Need.objects.get()
    client = client_for(cast.paired)
    url = f"/outreach/visits/{visit.pk}/"
    with monkeypatch.context() as without_ledger:
        without_ledger.setattr(hooks, "case_form_url", None)
        assert ">立案</a>" not in client.get(url).content.decode()

    form_url = re.search(r'href="([^"]+)">立案</a>', client.get(url).content.decode()).group(1)
    form = client.get(html.unescape(form_url)).content.decode()
    assert "东屋屋顶漏雨，需修缮" in form
    assert f'value="outreach.need:{need.pk}"' in form

    data = {
        "region": WANQUANZHUANG,
        "source": "visit",
        "category": "housing.repair",
        "text": "东屋屋顶漏雨，需修缮",
        "household": paired.wang.pk,
        "source_ref": f"outreach.need:{need.pk}",
    }
    assert client.post("/cases/new/", data).status_code == 302
    case = Case.objects.get()
    assert (case.source, case.household_id) == ("visit", paired.wang.pk)
    need.refresh_from_db()
    assert need.case_number == case.number

    body = client.get(url).content.decode()
    assert f'href="/cases/number/{case.number}/"' in body
    assert ">立案</a>" not in body
    assert client.get(f"/cases/number/{case.number}/").url == f"/cases/{case.pk}/"
    assert f'href="{url}"' in client.get(f"/cases/{case.pk}/").content.decode()

    # The same need registered again: refused whole, no second case.
    again = client.post("/cases/new/", data).content.decode()
    assert f"该诉求已立案：{case.number}" in again
    assert Case.objects.count() == 1


def test_the_visit_page_is_404_out_of_reach(paired, cast, client_for):
    visit, _ = visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    assert client_for(cast.township).get(f"/outreach/visits/{visit.pk}/").status_code == 404
    assert client_for(cast.outsider).get(f"/outreach/visits/{visit.pk}/").status_code == 404


def test_flag_and_amend_from_the_visit_page(paired, cast, client_for):
    visit, _ = visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    assert (
        client_for(cast.village)
        .post(f"/outreach/visits/{visit.pk}/flag/", {"text": "x"})
        .status_code
        == 403
    )
    client_for(cast.supervisor).post(
        f"/outreach/visits/{visit.pk}/flag/", {"text": "照片与地点不符"}
    )
    client_for(cast.paired).post(f"/outreach/visits/{visit.pk}/amend/", {"text": "补充：已回访"})
    body = client_for(cast.supervisor).get(f"/outreach/visits/{visit.pk}/").content.decode()
    assert "照片与地点不符" in body and "补充：已回访" in body
    flagged = client_for(cast.supervisor).get("/outreach/visits/?flagged=1").content.decode()
    assert f"/outreach/visits/{visit.pk}/" in flagged


def test_the_doubtful_list_holds_only_visits_with_an_open_flag(paired, cast, client_for):
    kept, _ = visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    cleared, _ = visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(visited_at=at(3, 10)),
    )
    plain, _ = visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(visited_at=at(4, 10)),
    )
    supervisor = client_for(cast.supervisor)
    for visit in (kept, cleared):
        supervisor.post(f"/outreach/visits/{visit.pk}/flag/", {"text": "存疑"})
    flag = cleared.flags.get()
    supervisor.post(f"/outreach/flags/{flag.pk}/clear/", {"text": "已核实"})
    body = supervisor.get("/outreach/visits/?flagged=1").content.decode()
    assert f"/outreach/visits/{kept.pk}/" in body
    assert f"/outreach/visits/{cleared.pk}/" not in body
    assert f"/outreach/visits/{plain.pk}/" not in body
    assert f"/outreach/visits/{plain.pk}/" in supervisor.get("/outreach/visits/").content.decode()
    # The cleared flag stays on the visit's page, with who cleared it and why.
    page = supervisor.get(f"/outreach/visits/{cleared.pk}/").content.decode()
    assert "曾存疑" in page and "已核实" in page and cast.supervisor.display_name in page


def test_wrong_method_is_refused(paired, cast, client_for):
    assert client_for(cast.admin).post(f"/outreach/{paired.campaign.pk}/").status_code == 405


def test_assigning_households_on_the_page(world, cast, client_for):
    client = client_for(cast.admin)
    url = f"/outreach/{world.campaign.pk}/pairings/?region={WANQUANZHUANG}&unpaired=on"
    body = client.get(url).content.decode()
    assert "张三" in body and "刘芳" not in body
    response = client.post(
        url,
        {
            "households": [world.zhang.pk, world.wang.pk, world.zhao.pk, world.qian.pk],
            "mode": "spread",
            "cadres": [cast.paired.pk, cast.village.pk],
            "start": "2026-06-01",
        },
    )
    assert response.status_code == 302
    assert Pairing.objects.filter(cadre=cast.paired).count() == 2
    assert Enrolment.objects.filter(cadre__isnull=True, region_id=WANQUANZHUANG).count() == 0


def test_handover_on_the_page(paired, cast, client_for):
    response = client_for(cast.admin).post(
        f"/outreach/{paired.campaign.pk}/pairings/handover/",
        {
            "cadre": cast.paired.pk,
            "successors": [cast.village.pk],
            "on": "2026-06-15",
            "reason": "调任",
        },
    )
    assert response.status_code == 302
    assert Pairing.objects.filter(cadre=cast.village, end__isnull=True).count() == 4


def _xlsx(rows) -> io.BytesIO:
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    buffer.seek(0)
    buffer.name = "包联表.xlsx"
    return buffer


def test_importing_a_pairing_sheet(world, cast, client_for):
    sheet = _xlsx(
        [
            ["户编号", "干部账号", "起始日期"],
            [str(world.zhang.pk), "paired", "2026-06-02"],
            [str(world.wang.pk), "village", ""],
        ]
    )
    response = client_for(cast.admin).post(
        f"/outreach/{world.campaign.pk}/pairings/import/", {"file": sheet}
    )
    assert response.status_code == 302
    assert Pairing.objects.get(household=world.zhang).start == datetime.date(2026, 6, 2)
    assert Pairing.objects.get(household=world.wang).cadre == cast.village


def test_a_bad_pairing_sheet_names_row_and_column_and_writes_nothing(world, cast, client_for):
    sheet = _xlsx(
        [
            ["户编号", "干部账号", "起始日期"],
            [str(world.zhang.pk), "paired", ""],
            ["999999", "nobody", "明天"],
        ]
    )
    response = client_for(cast.admin).post(
        f"/outreach/{world.campaign.pk}/pairings/import/", {"file": sheet}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "第 3 行 A 列（户编号）" in body
    assert "第 3 行 B 列（干部账号）" in body
    assert "第 3 行 C 列（起始日期）" in body
    assert Pairing.objects.count() == 0


def test_a_pairing_sheet_names_the_row_of_a_cadre_who_may_not_be_paired(world, cast, client_for):
    """A switched-off account and a read-only one are refused in the row check, with their row
    and column, together with the other rows' refusals, not one by one after the rest."""
    type(cast.village).objects.filter(pk=cast.village.pk).update(is_active=False)
    sheet = _xlsx(
        [
            ["户编号", "干部账号", "起始日期"],
            [str(world.zhang.pk), "paired", ""],
            [str(world.wang.pk), cast.village.username, ""],
            [str(world.zhao.pk), cast.viewer.username, "明天"],
        ]
    )
    response = client_for(cast.admin).post(
        f"/outreach/{world.campaign.pk}/pairings/import/", {"file": sheet}
    )
    body = html.unescape(response.content.decode())
    assert "第 3 行 B 列（干部账号）" in body and "账户已停用" in body
    assert "第 4 行 B 列（干部账号）" in body
    assert "第 4 行 C 列（起始日期）" in body
    assert Pairing.objects.count() == 0


def test_a_pairing_sheet_names_the_row_of_a_household_out_of_the_cadres_reach(
    world, cast, client_for
):
    sheet = _xlsx(
        [
            ["户编号", "干部账号", "起始日期"],
            [str(world.zhang.pk), "paired", ""],
            [str(world.liu.pk), "paired", ""],  # 文兴街社区, 双塔街道: not 赵明's 刁窝镇
        ]
    )
    response = client_for(cast.admin).post(
        f"/outreach/{world.campaign.pk}/pairings/import/", {"file": sheet}
    )
    body = html.unescape(response.content.decode())
    assert response.status_code == 200
    assert "第 3 行 B 列（干部账号）：赵明的管辖范围不含该户" in body
    assert Pairing.objects.count() == 0


def test_a_pairing_sheet_that_is_no_text_is_refused_in_chinese(world, cast, client_for):
    """An .xlsx saved under a .csv name: refused as unreadable, not a server error."""
    sheet = _xlsx([["户编号", "干部账号", "起始日期"], [str(world.zhang.pk), "paired", ""]])
    sheet.name = "包联.csv"
    response = client_for(cast.admin).post(
        f"/outreach/{world.campaign.pk}/pairings/import/", {"file": sheet}
    )
    assert response.status_code == 200
    assert "无法读取文件“包联.csv”" in html.unescape(response.content.decode())
    assert Pairing.objects.count() == 0


def test_the_monthly_rollup_sheet_by_township(paired, cast, client_for):
    visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(needs=["a", "b"]),
    )
    response = client_for(cast.admin).get(
        f"/outreach/{paired.campaign.pk}/rollup.xlsx?month=2026-06"
    )
    assert response.status_code == 200
    book = CalamineWorkbook.from_object(io.BytesIO(response.content))
    rows = book.get_sheet_by_index(0).to_python()
    header = rows[2]
    assert header[:6] == [
        "乡镇（街道）",
        "在册户数",
        "登记困难群众户数",
        "本月走访户数",
        "本月走访户次",
        "本月发现诉求数",
    ]
    diaowo = next(r for r in rows if r[0] == "刁窝镇")
    assert diaowo[1:] == [5, 1, 1, 1, 2]  # 张三 is 特困
    assert rows[-1][0] == "合计" and rows[-1][1] == 6


def test_the_household_page_has_an_outreach_section(paired, cast, client_for):
    visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(found="屋顶漏雨"),
    )
    body = client_for(cast.admin).get(f"/households/{paired.wang.pk}/").content.decode()
    assert "屋顶漏雨" in body and "赵明" in body


def test_the_home_page_lists_households_due(paired, cast, client_for):
    body = client_for(cast.paired).get("/").content.decode()
    assert "待走访的包联户" in body


def test_the_coverage_page_in_english(paired, cast, client_for):
    from django.core.management import call_command

    call_command("compiletranslations", verbosity=0)
    client = client_for(cast.admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    try:
        body = client.get(f"/outreach/{paired.campaign.pk}/").content.decode()
    finally:
        translation.deactivate()  # the request left English active in this thread
    assert "Households in scope" in body and "Townships" in body
    assert "在册户" not in body


def test_the_coverage_page_costs_the_same_queries_whatever_the_data(
    paired, cast, client_for, django_assert_max_num_queries
):
    client = client_for(cast.admin)
    url = f"/outreach/{paired.campaign.pk}/"
    client.get(url)
    with django_assert_max_num_queries(25) as first:
        client.get(url)
    for hour, household in enumerate([paired.zhang, paired.wang, paired.zhao, paired.sun]):
        visit_log(
            actor=cast.paired,
            campaign=paired.campaign,
            household=household,
            data=visit_input(visited_at=at(14, 8 + hour)),
        )
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(url)


def test_lists_do_not_grow_queries_with_rows(
    paired, cast, client_for, django_assert_max_num_queries
):
    client = client_for(cast.paired)
    client.get("/outreach/mine/")
    with django_assert_max_num_queries(12):
        assert client.get("/outreach/mine/").content.decode().count("开始走访") == 4
    admin = client_for(cast.admin)
    with django_assert_max_num_queries(12):
        admin.get(f"/outreach/{paired.campaign.pk}/households/?show=all")
    with django_assert_max_num_queries(12):
        admin.get("/outreach/visits/")


def test_creating_and_editing_a_campaign_on_the_page(world, cast, client_for):
    client = client_for(cast.admin)
    data = {
        "name": "千名干部进百村",
        "kind": "thousand_cadres",
        "start": "2026-06-01",
        "end": "2026-12-31",
        "regions": "130681107",
        "rounds": "2",
        "must_visit_tekun": "20",
        "aspects": "生活、生产",
        "report_day": "20",
    }
    response = client.post("/outreach/new/", data)
    assert response.status_code == 302
    from minqing.outreach.models import Campaign

    campaign = Campaign.objects.get(name="千名干部进百村")
    assert campaign.must_visit == [{"category": "tekun", "every_days": 20}]
    assert Enrolment.objects.filter(campaign=campaign).count() == 5  # 刁窝镇 only
    response = client.post(f"/outreach/{campaign.pk}/edit/", data | {"report_day": "15"})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.report_day == 15
    refused = client_for(cast.township).post("/outreach/new/", data)
    assert refused.status_code == 200 and "不在您的管辖范围内" in refused.content.decode()


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_signature_confirms_the_visit_and_is_served_in_scope_only(
    paired, cast, client_for, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    visit, _ = visit_log(
        actor=cast.paired,
        campaign=paired.campaign,
        household=paired.wang,
        data=visit_input(photos=[("门前.jpg", b"\xff\xd8\xff\xe0 photo")]),
    )
    client = client_for(cast.paired)
    sign = io.BytesIO(PNG)
    sign.name = "signature.png"
    assert client.post(f"/outreach/visits/{visit.pk}/sign/", {"signature": sign}).status_code == 302
    visit.refresh_from_db()
    assert visit.confirm_method == "signature" and visit.confirmed_at is not None
    assert b"".join(client.get(f"/outreach/visits/{visit.pk}/signature/").streaming_content) == PNG
    photo = visit.photos.get()
    assert client.get(f"/outreach/photos/{photo.pk}/").status_code == 200
    assert client_for(cast.township).get(f"/outreach/photos/{photo.pk}/").status_code == 404
    assert (
        client_for(cast.township).get(f"/outreach/visits/{visit.pk}/signature/").status_code == 404
    )


def test_without_an_sms_gateway_no_code_is_offered_nor_said_to_be_sent(
    paired, cast, client_for, monkeypatch
):
    """No gateway configured (hooks.sms_sender): a code would reach no one, so the page offers
    the signature only, and a posted request says so instead of "验证码已发送"."""
    monkeypatch.setattr(hooks, "sms_sender", None)
    visit, _ = visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.zhang, data=visit_input()
    )
    client = client_for(cast.paired)
    page = client.get(f"/outreach/visits/{visit.pk}/").content.decode()
    assert "发送验证码" not in page and 'name="code"' not in page
    assert "data-signature" in page
    body = client.post(f"/outreach/visits/{visit.pk}/code/", follow=True).content.decode()
    assert "验证码已发送" not in body and "未接入短信网关" in body
    visit.refresh_from_db()
    assert visit.confirm_code_hash == ""

    monkeypatch.setattr(hooks, "sms_sender", lambda phone, text: None)
    page = client.get(f"/outreach/visits/{visit.pk}/").content.decode()
    assert "发送验证码到 138****5678" in page and 'name="code"' in page


def test_a_village_officer_follows_the_cadre_link_to_the_township_cadres_visits(
    paired, cast, client_for
):
    # 赵明 is a township's cadre (reach 刁窝镇) paired with households of 万全庄村: the village's
    # officer sees him in the cadre table and can list his visits there, but not an outsider's.
    visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    client = client_for(cast.village)
    link = (
        f"/outreach/visits/?campaign={paired.campaign.pk}&amp;region={WANQUANZHUANG}"
        f"&amp;cadre={cast.paired.pk}"
    )
    assert link in client.get(f"/outreach/{paired.campaign.pk}/cadres/").content.decode()
    body = client.get(html.unescape(link)).content.decode()
    assert "王五" in body and "赵明" in body
    outsider = f"/outreach/visits/?campaign={paired.campaign.pk}&cadre={cast.outsider.pk}"
    assert client.get(outsider).status_code == 404


def test_only_a_user_covering_the_whole_campaign_may_change_it(world, cast, client_for):
    from django.core.exceptions import PermissionDenied

    from minqing.outreach.services import campaign_update

    edit = f"/outreach/{world.campaign.pk}/edit/"
    township = client_for(cast.township)  # 双塔街道, inside the county-wide campaign
    page = township.get(f"/outreach/{world.campaign.pk}/").content.decode()
    assert "包联管理" in page and "修改活动" not in page
    assert township.get(edit).status_code == 403
    assert township.post(edit, {"name": "改名"}).status_code == 403
    with pytest.raises(PermissionDenied):
        campaign_update(actor=cast.township, campaign=world.campaign, name="改名")
    world.campaign.refresh_from_db()
    assert world.campaign.name == "2026年暖冬行动"
    assert (
        "修改活动" in client_for(cast.admin).get(f"/outreach/{world.campaign.pk}/").content.decode()
    )
