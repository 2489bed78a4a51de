import datetime
import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from pypdf import PdfReader

from minqing.accounts.models import User
from minqing.audit.models import AuditLog
from minqing.lib.excel import read_rows
from minqing.relief import services
from minqing.relief.models import EntitlementList, Payment, Programme, RuleSet
from minqing.relief.tests.test_rebuild_and_hazards import _site

from .conftest import approved_list

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def _rows_of(response):
    return [
        cells for _n, cells in read_rows(io.BytesIO(b"".join(response.streaming_content)), "x.xlsx")
    ]


def test_programme_set_up_page_creates_a_programme_and_its_rules(cast, village, client_for):
    client = client_for(cast.admin)
    response = client.post(
        "/relief/",
        {
            "name": "冬季取暖补助",
            "kind": "one_off",
            "starts_on": "2026-11-01",
            "budget": "50000",
            "regions": "130681107",
        },
    )
    programme = Programme.objects.get(name="冬季取暖补助")
    assert (
        response.status_code == 302 and response.url == f"/relief/programmes/{programme.pk}/rules/"
    )
    assert programme.budget_fen == 5_000_000
    assert [r.code for r in programme.regions.all()] == ["130681107000"]
    rows = {
        "rows": "2",
        "match": "all",
        "code-0": "old",
        "label-0": "60岁以上老人取暖费",
        "kind-0": "cash",
        "age_min-0": "60",
        "amount-0": "300",
        "code-1": "d",
        "label-1": "D级",
        "kind-1": "material",
        "grades-1": "D",
        "material-1": str(village.rebar.pk),
        "quantity-1": "1.5",
    }
    preview = client.post(f"/relief/programmes/{programme.pk}/rules/preview/", rows)
    counts = re.findall(r'data-households="(\d+)"', preview.content.decode())
    assert counts == ["1", "1"]  # 李二河's father in 万全庄村; 王大山's grade-D house
    assert "60岁以上老人取暖费" in _text(preview) and "钢筋 1.5 吨" in _text(preview)
    saved = client.post(f"/relief/programmes/{programme.pk}/rules/", rows | {"note": "初版"})
    assert saved.status_code == 302
    ruleset = RuleSet.objects.get(programme=programme)
    assert [(line.code, line.amount_fen) for line in ruleset.lines.all()] == [
        ("old", 30000),
        ("d", 0),
    ]
    page = client.get(f"/relief/programmes/{programme.pk}/")
    assert "现行规则（第 1 版）" in _text(page) and "有 60 周岁及以上成员" in _text(page)


def test_the_rule_editor_names_the_bad_row(cast, village, client_for):
    client = client_for(cast.admin)
    response = client.post(
        f"/relief/programmes/{village.flood.pk}/rules/",
        {
            "rows": "1",
            "match": "all",
            "code-0": "x",
            "label-0": "x",
            "kind-0": "cash",
            "members_min-0": "三",
        },
    )
    assert response.status_code == 200
    assert "第 1 行：最少人口应为整数" in _text(response)
    assert village.flood.rulesets.count() == 1


def test_the_list_page_shows_figures_notice_and_excel(cast, village, client_for):
    entitlement_list = approved_list(cast.admin, village.flood)
    client = client_for(cast.admin)
    page = _text(client.get(f"/relief/lists/{entitlement_list.pk}/"))
    assert re.search(r'data-line="d_rebar">.*?<td class="count">1</td>', page)
    assert re.search(r'data-line="winter_cash">.*?<td class="count">3</td> <td>3000 元</td>', page)
    notice = _text(client.get(f"/relief/lists/{entitlement_list.pk}/notice/"))
    assert (
        "涿州市洪灾救助救助对象公示" in notice and "公示期 7 天" in notice and "共 3 户" in notice
    )
    pdf = client.get(f"/relief/lists/{entitlement_list.pk}/notice/", {"format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    pdf_text = PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    assert (
        "涿州市洪灾救助救助对象公示" in pdf_text
        and "王大山" in pdf_text
        and "钢筋 2 吨" in pdf_text
    )
    rows = _rows_of(client.get(f"/relief/lists/{entitlement_list.pk}/export/"))
    assert rows[0][:4] == ["序号", "乡镇（街道）", "村（社区）", "户主"]
    assert rows[1][1:4] == ["双塔街道", "文兴街社区", "赵小桥"]
    assert len(rows) == 11


def test_a_village_cadre_sees_only_their_village_on_the_list(cast, village, client_for):
    entitlement_list = approved_list(cast.admin, village.flood)
    page = _text(client_for(cast.village).get(f"/relief/lists/{entitlement_list.pk}/"))
    assert "王大山" in page and "赵小桥" not in page
    assert client_for(cast.outsider).get(f"/relief/lists/{entitlement_list.pk}/").status_code == 404
    assert (
        client_for(cast.outsider).get(f"/relief/programmes/{village.flood.pk}/").status_code == 404
    )


def test_distribution_on_a_phone_hands_over_then_says_already_paid(cast, village, client_for):
    entitlement_list = approved_list(cast.admin, village.flood)
    client = client_for(cast.village)
    found = _text(client.get(f"/relief/lists/{entitlement_list.pk}/distribute/", {"q": "王"}))
    assert "王大山" in found and "钢筋 2 吨" in found and 'capture="environment"' in found
    sand = entitlement_list.entitlements.get(household=village.d, line__code="d_sand")
    photo = io.BytesIO(PNG)
    photo.name = "sign.png"
    response = client.post(
        f"/relief/entitlements/{sand.pk}/handover/",
        {"receiver": "王大山", "proof": "signature", "depot": village.depot.pk, "photo": photo},
        follow=True,
    )
    assert "已发放：王大山 D级危房 沙子20吨" in _text(response)
    paid = Payment.objects.get(entitlement=sand)
    assert client.get(f"/relief/photos/payment/{paid.pk}/").getvalue() == PNG
    assert client_for(cast.township).get(f"/relief/photos/payment/{paid.pk}/").status_code == 404
    again = client_for(cast.admin).post(
        f"/relief/entitlements/{sand.pk}/handover/",
        {"receiver": "王大山", "proof": "signature", "depot": village.depot.pk},
        follow=True,
    )
    assert "由 陈立军 现场发放，不能重复发放" in _text(again)
    assert Payment.objects.filter(entitlement=sand).count() == 1
    assert (
        client_for(cast.viewer).post(f"/relief/entitlements/{sand.pk}/handover/", {}).status_code
        == 403
    )
    # A read-only user neither finds the hand-over page nor its button on the list.
    viewer = client_for(cast.viewer)
    assert viewer.get(f"/relief/lists/{entitlement_list.pk}/distribute/").status_code == 403
    assert "现场发放" not in _text(viewer.get(f"/relief/lists/{entitlement_list.pk}/"))
    assert "现场发放" in _text(client.get(f"/relief/lists/{entitlement_list.pk}/"))
    assert (
        client_for(cast.township).post(f"/relief/entitlements/{sand.pk}/handover/", {}).status_code
        == 404
    )


def test_the_bank_file_has_whole_id_numbers_only_for_personal_data_and_is_audited(
    cast, village, client_for
):
    entitlement_list = approved_list(cast.admin, village.flood)
    client = client_for(cast.admin)
    client.post(f"/relief/lists/{entitlement_list.pk}/bank/new/")
    batch = entitlement_list.bank_batches.get()
    rows = _rows_of(client.get(f"/relief/bank/{batch.pk}/file/"))
    assert rows[0][:4] == ["流水号", "户主", "身份证号", "金额（元）"]
    assert {r[2] for r in rows[1:]} == {h.head.id_number for h in (village.d, village.c, village.b)}
    assert (
        AuditLog.objects.filter(entity="relief.bank_batch", action="export_personal").count() == 1
    )
    assert client_for(cast.dept).get(f"/relief/bank/{batch.pk}/file/").status_code == 403


def test_the_household_page_shows_what_it_received_with_programme_and_version(
    cast, village, client_for
):
    entitlement_list = approved_list(cast.admin, village.flood)
    services.payment_handover(
        actor=cast.village,
        entitlement=entitlement_list.entitlements.get(household=village.d, line__code="d_rebar"),
        receiver="王大山",
        proof="thumbprint",
        depot=village.depot,
    )
    page = _text(client_for(cast.village).get(f"/households/{village.d.pk}/"))
    assert "救助与发放" in page
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", page)]
    assert cells[cells.index("涿州市洪灾救助") : cells.index("涿州市洪灾救助") + 5] == [
        "涿州市洪灾救助",
        "一次性",
        "D级危房 钢筋2吨",
        "v1",
        "钢筋 2 吨",
    ]
    assert "陈立军" in page and "待领取：" in page and "D级危房 沙子20吨" in page


def test_rebuild_board_and_hazard_pages(cast, village, client_for):
    project = services.project_create(
        actor=cast.admin, household=village.d, kind="rebuild_in_place"
    )
    client = client_for(cast.admin)
    photo = io.BytesIO(PNG)
    photo.name = "roof.png"
    response = client.post(
        f"/relief/rebuild/{project.pk}/", {"stage": "finished", "on": "2026-06-01", "photo": photo}
    )
    assert response.status_code == 302
    board = _text(client.get("/relief/rebuild/"))
    assert re.search(r"刁窝镇</a></td><td>1</td><td>1</td>", board) and "已全部完成" in board
    assert _rows_of(client.get("/relief/rebuild/", {"format": "xlsx"}))[1][3] == "王大山"
    site = _site(cast, village)
    assert "万全庄村北坡滑坡" in _text(client.get("/relief/hazards/"))
    card = client.get(f"/relief/hazards/{site.pk}/card/{village.d.pk}/")
    assert card["Content-Type"] == "application/pdf"
    assert "王大山" in PdfReader(io.BytesIO(card.content)).pages[0].extract_text()
    assert client.get(f"/relief/hazards/{site.pk}/card/{village.b.pk}/").status_code == 404
    assert client_for(cast.outsider).get(f"/relief/hazards/{site.pk}/").status_code == 404
    assert _rows_of(client.get("/relief/hazards/", {"format": "xlsx"}))[1][1] == "ZZ-DW-001"


def test_stock_page_receives_and_counts(cast, village, client_for):
    client = client_for(cast.admin)
    client.post(
        "/relief/stock/",
        {
            "depot": village.depot.pk,
            "material": village.sand.pk,
            "quantity": "5",
            "note": "社会捐赠",
        },
    )
    response = client.post(
        "/relief/stock/",
        {
            "depot": village.depot.pk,
            "material": village.sand.pk,
            "quantity": "100",
            "note": "",
            "action": "count",
        },
        follow=True,
    )
    assert "账实不符，请填写差异原因" in _text(response)
    assert "105 吨" in _text(response)


# ---------------------------------------------------------------------------------------------
# Done means: on the demo county the flood programme grants exactly the seeded rules, and the
# page's figures are the database's count of those households.


@pytest.fixture
def demo_county(db, time_machine):
    time_machine.move_to(datetime.datetime(2026, 6, 15, 10, 0), tick=False)
    call_command("demo", households=400, stdout=io.StringIO())


def _sql_count(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_on_the_demo_county_the_flood_programme_grants_exactly_the_rules(demo_county, client_for):
    entitlement_list = EntitlementList.objects.get(programme__name__contains="洪涝灾害")
    grade = (
        "SELECT COUNT(*) FROM households_dwelling WHERE region_id LIKE '130681%%' AND grade = '{}'"
    )
    d_count, c_count = _sql_count(grade.format("D")), _sql_count(grade.format("C"))
    hit = _sql_count(
        "SELECT COUNT(DISTINCT g.household_id) FROM households_categorygrant g"
        " JOIN households_category c ON c.id = g.category_id WHERE c.code = 'disaster_hit'"
        " AND g.start <= '2023-10-01' AND (g.\"end\" IS NULL OR g.\"end\" >= '2023-10-01')"
    )
    assert d_count and c_count and hit
    granted = {}
    for (
        code,
        household,
        kind,
        amount,
        quantity,
        material,
    ) in entitlement_list.entitlements.values_list(
        "line__code",
        "household",
        "line__kind",
        "line__amount_fen",
        "line__quantity",
        "line__material__name",
    ):
        granted.setdefault(code, set()).add(
            (household, kind, amount, quantity.normalize(), material)
        )
    assert {g[1:] for g in granted["d_rebar"]} == {("material", 0, 2, "钢筋")}
    assert {g[1:] for g in granted["d_sand"]} == {("material", 0, 20, "沙子")}
    assert {g[1:] for g in granted["c_sand"]} == {("material", 0, 5, "沙子")}
    assert {g[1:] for g in granted["winter_cash"]} == {("cash", 100000, 0, None)}
    assert (
        len(granted["d_rebar"]),
        len(granted["d_sand"]),
        len(granted["c_sand"]),
        len(granted["winter_cash"]),
    ) == (
        d_count,
        d_count,
        c_count,
        hit,
    )
    admin = User.objects.get(username="admin")
    page = _text(client_for(admin).get(f"/relief/lists/{entitlement_list.pk}/"))
    for code, expected in (
        ("d_rebar", d_count),
        ("d_sand", d_count),
        ("c_sand", c_count),
        ("winter_cash", hit),
    ):
        assert re.search(rf'data-line="{code}">.*?<td class="count">{expected}</td>', page), code
    # The set-up page's live preview says the same.
    preview = client_for(admin).post(
        f"/relief/programmes/{entitlement_list.programme_id}/rules/preview/",
        {
            "rows": "1",
            "match": "all",
            "code-0": "d",
            "label-0": "D",
            "kind-0": "material",
            "grades-0": "D",
            "material-0": str(entitlement_list.ruleset.lines.get(code="d_rebar").material_id),
            "quantity-0": "2",
        },
    )
    assert re.findall(r'data-households="(\d+)"', preview.content.decode()) == [str(d_count)]


def test_list_page_queries_do_not_grow_with_rows(
    cast, village, client_for, django_assert_max_num_queries
):
    entitlement_list = approved_list(cast.admin, village.flood)
    client = client_for(cast.admin)
    with django_assert_max_num_queries(20):
        client.get(f"/relief/lists/{entitlement_list.pk}/")
    with django_assert_max_num_queries(16):
        client.get("/relief/rebuild/")


def test_today_lists_a_list_whose_notice_is_over(cast, village, client_for, time_machine):
    entitlement_list = services.list_compute(
        actor=cast.admin, programme=village.flood, cycle=village.flood.cycles.get()
    )
    services.list_transition(actor=cast.admin, entitlement_list=entitlement_list, to="reviewed")
    services.list_transition(
        actor=cast.admin, entitlement_list=entitlement_list, to="notice", notice_days=3
    )
    assert "公示期满待批准的救助名单" not in _text(client_for(cast.admin).get("/"))
    time_machine.move_to(datetime.datetime(2026, 6, 19, 9, 0), tick=False)
    home = _text(client_for(cast.admin).get("/"))
    assert "公示期满待批准的救助名单" in home and f"/relief/lists/{entitlement_list.pk}/" in home
    assert "公示期满待批准的救助名单" not in _text(client_for(cast.viewer).get("/"))


def test_relief_pages_speak_english_when_chosen(cast, village, client_for):
    from django.core.management import call_command as command

    command("compiletranslations", stdout=io.StringIO())
    client = client_for(cast.admin)
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    page = _text(client.get(f"/relief/programmes/{village.flood.pk}/"))
    assert "Current rules (version 1)" in page and "house grade D" in page
    from django.utils import translation

    translation.deactivate()
