"""What a county supervisor found in review: the monthly roll-up (its regions, its rows, its
month and its file name), the gaps API's pages, the cadre figures in the coverage API, and
the coverage page's month and idle-days settings."""

import datetime
import io
import re
from urllib.parse import quote

import pytest
from django.test import Client
from python_calamine import CalamineWorkbook

from minqing.accounts.services import token_create
from minqing.households.models import Category
from minqing.households.services import category_grant
from minqing.outreach.models import CampaignKind
from minqing.outreach.services import campaign_create, visit_log
from minqing.outreach.tests.conftest import TZ, visit_input
from minqing.testing import DIAOWO, SHUANGTA, WANQUANZHUANG

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def api(user) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_create(user=user, name='手机')[1]}"
    return client


def _grant(household, code: str) -> None:
    category_grant(
        actor=None,
        category=Category.objects.get(code=code),
        household=household,
        start=datetime.date(2024, 1, 1),
    )


def _sheet(response) -> list[list]:
    assert response.status_code == 200, response.content.decode()
    assert response["Content-Type"] == XLSX
    book = CalamineWorkbook.from_object(io.BytesIO(response.getvalue()))
    return book.get_sheet_by_index(0).to_python()


def _body(rows: list[list]) -> list[list]:
    """The data rows: below the title, the unit line and the header, above 合计."""
    assert rows[-1][0] == "合计"
    return rows[3:-1]


@pytest.fixture
def flood(world, cast):
    """A campaign of 刁窝镇 alone (like the demo's 灾后重建走访 of the flooded townships), with
    a household in difficulty outside it (刘芳 of 双塔街道, 低保) and one visit in it."""
    _grant(world.liu, "dibao")
    campaign = campaign_create(
        actor=cast.admin,
        name="汛后走访",
        kind=CampaignKind.POST_DISASTER,
        start=datetime.date(2026, 6, 1),
        end=datetime.date(2026, 9, 30),
        regions=[DIAOWO],
        rounds=3,
    )
    visit_log(
        actor=cast.paired,
        campaign=campaign,
        household=world.wang,
        data=visit_input(needs=["修缮屋顶"]),
    )
    return campaign


def _rollup(client, campaign, query: str = ""):
    return client.get(f"/outreach/{campaign.pk}/rollup.xlsx{query}")


# Defect 3: the roll-up's regions and rows


def test_the_county_rollup_lists_only_the_campaigns_townships(flood, cast, client_for):
    rows = _sheet(_rollup(client_for(cast.admin), flood, "?month=2026-06"))
    assert rows[2][0] == "乡镇（街道）"
    # 双塔街道 is not in the campaign: its 低保 household is no row and in no total.
    assert _body(rows) == [["刁窝镇", 5, 1, 1, 1, 1]]
    assert rows[-1] == ["合计", 5, 1, 1, 1, 1]


def test_a_township_rollup_has_a_row_per_village(flood, cast, client_for):
    rows = _sheet(_rollup(client_for(cast.admin), flood, f"?month=2026-06&region={DIAOWO}"))
    assert rows[1][0].startswith("填报单位：刁窝镇")
    assert rows[2][0] == "村（社区）"
    assert _body(rows) == [["东张村", 1, 0, 0, 0, 0], ["万全庄村", 4, 1, 1, 1, 1]]


def test_a_village_rollup_is_one_row_named_after_the_village(flood, cast, client_for):
    rows = _sheet(_rollup(client_for(cast.admin), flood, f"?month=2026-06&region={WANQUANZHUANG}"))
    assert rows[1][0].startswith("填报单位：万全庄村")
    assert rows[2][0] == "村（社区）"
    assert _body(rows) == [["万全庄村", 4, 1, 1, 1, 1]]
    # The village's cadre, whose reach is the village, gets the same sheet by default.
    rows = _sheet(_rollup(client_for(cast.village), flood, "?month=2026-06"))
    assert _body(rows) == [["万全庄村", 4, 1, 1, 1, 1]]


def test_a_month_outside_the_campaign_is_refused_in_chinese(flood, cast, client_for):
    client = client_for(cast.admin)
    before = _rollup(client, flood, "?month=2025-01")
    assert before.status_code == 400
    text = before.content.decode()
    assert "2025年01月" in text and "2026-06-01" in text and "2026-09-30" in text
    assert "在册户数" not in text
    later = _rollup(client, flood, "?month=2026-07")  # today is 2026-06-15
    assert later.status_code == 400
    assert "2026年07月尚未开始" in later.content.decode()
    malformed = _rollup(client, flood, "?month=2026-13")
    assert malformed.status_code == 400
    assert "YYYY-MM" in malformed.content.decode()


def test_a_region_the_campaign_does_not_cover_is_refused(flood, cast, client_for):
    response = _rollup(client_for(cast.admin), flood, f"?month=2026-06&region={SHUANGTA}")
    assert response.status_code == 400
    assert "不覆盖双塔街道" in response.content.decode()


def test_a_region_out_of_reach_is_still_404(flood, cast, client_for):
    response = _rollup(client_for(cast.township), flood, f"?month=2026-06&region={DIAOWO}")
    assert response.status_code == 404


# Defect 10: the file's name


def test_the_rollup_downloads_under_a_chinese_name(world, cast, client_for):
    response = _rollup(client_for(cast.admin), world.campaign, "?month=2026-06")
    name = "走访月报-2026年暖冬行动-涿州市-2026年06月.xlsx"
    assert response["Content-Disposition"] == f"attachment; filename*=utf-8''{quote(name)}"
    _sheet(response)


# Defect 9: the month whose report is due, and the page's settings


def _on(time_machine, day: datetime.date) -> None:
    time_machine.move_to(datetime.datetime.combine(day, datetime.time(10), tzinfo=TZ), tick=False)


@pytest.mark.parametrize(
    ("day", "month"),
    [
        (datetime.date(2026, 8, 8), "2026-07"),  # July's report is due on 8月20日
        (datetime.date(2026, 8, 20), "2026-07"),  # the report day itself
        (datetime.date(2026, 8, 21), "2026-08"),  # July's is past: August's is the next due
        (datetime.date(2026, 6, 15), "2026-06"),  # May's is due, but the campaign began in June
        (datetime.date(2026, 12, 8), "2026-09"),  # the campaign ended in September
    ],
)
def test_the_rollup_defaults_to_the_month_whose_report_is_due(
    world, cast, client_for, time_machine, day, month
):
    _on(time_machine, day)
    client = client_for(cast.admin)
    rows = _sheet(_rollup(client, world.campaign))
    year, mm = month.split("-")
    assert f"{year}年{mm}月" in rows[0][0]
    page = client.get(f"/outreach/{world.campaign.pk}/").content.decode()
    picker = re.search(r'<input type="month" name="month"[^>]*>', page)
    assert picker, page
    assert f'value="{month}"' in picker.group(0)


def test_the_coverage_page_has_a_month_picker_for_the_export(world, cast, client_for, time_machine):
    _on(time_machine, datetime.date(2026, 8, 8))
    page = client_for(cast.admin).get(f"/outreach/{world.campaign.pk}/?region={DIAOWO}")
    html = page.content.decode()
    form = re.search(
        rf'<form[^>]*action="/outreach/{world.campaign.pk}/rollup.xlsx"[^>]*>(.*?)</form>',
        html,
        re.S,
    )
    assert form, html
    inner = form.group(1)
    assert f'name="region" value="{DIAOWO}"' in inner
    picker = re.search(r'<input type="month" name="month"[^>]*>', inner).group(0)
    assert 'value="2026-07"' in picker
    assert 'min="2026-06"' in picker and 'max="2026-08"' in picker
    assert "导出月报" in inner
    # A month picked is kept when the page is shown again.
    html = client_for(cast.admin).get(f"/outreach/{world.campaign.pk}/?month=2026-06").content
    assert 'name="month" value="2026-06"' in html.decode()


def test_the_coverage_page_has_an_input_for_the_idle_days(paired, cast, client_for):
    client = client_for(cast.admin)
    html = client.get(f"/outreach/{paired.campaign.pk}/").content.decode()
    form = re.search(
        rf'<form[^>]*action="/outreach/{paired.campaign.pk}/"[^>]*>(.*?)</form>', html, re.S
    )
    assert form, html
    idle = re.search(r'<input type="number" name="idle"[^>]*>', form.group(1)).group(0)
    assert 'value="7"' in idle and 'min="1"' in idle and 'max="365"' in idle
    html = client.get(f"/outreach/{paired.campaign.pk}/?idle=3").content.decode()
    assert re.search(r'<input type="number" name="idle" value="3"', html)
    assert "超过 3 天未走访" in html


# Defect 4: the gaps API pages through every overdue household


def test_the_gaps_api_reaches_every_overdue_household_page_by_page(world, cast, time_machine):
    for household in [world.wang, world.zhao, world.qian, world.sun]:
        _grant(household, "tekun")
    _on(time_machine, datetime.date(2026, 7, 30))
    client = api(cast.admin)
    url = f"/api/outreach/campaigns/{world.campaign.pk}/gaps"
    seen, after, pages = [], "", 0
    while True:
        body = client.get(url, {"limit": 2, **({"after": after} if after else {})}).json()
        assert len(body["items"]) <= 2
        seen += [item["household_id"] for item in body["items"]]
        pages += 1
        after = body["next"]
        if not after:
            break
    five = [world.zhang, world.wang, world.zhao, world.qian, world.sun]
    assert pages == 3
    assert sorted(seen) == sorted(h.pk for h in five)  # each once
    whole = client.get(url).json()
    assert [i["household_id"] for i in whole["items"]] == seen and whole["next"] is None
    by_region = client.get(url, {"region": DIAOWO, "limit": 4}).json()
    assert len(by_region["items"]) == 4 and by_region["next"]


@pytest.mark.parametrize("limit", ["0", "201", "x"])
def test_the_gaps_api_refuses_a_bad_limit(world, cast, limit):
    response = api(cast.admin).get(
        f"/api/outreach/campaigns/{world.campaign.pk}/gaps", {"limit": limit}
    )
    assert response.status_code == 422
    assert response.json()["fields"] == {"limit": ["每页条数应为 1 到 200 之间的整数"]}


# Defect 8: the cadre figures of the coverage page, through the API


def test_the_coverage_api_has_the_cadres_and_the_idle_count_of_the_page(
    paired, cast, client_for, time_machine
):
    visit_log(
        actor=cast.paired, campaign=paired.campaign, household=paired.wang, data=visit_input()
    )
    client = api(cast.admin)
    url = f"/api/outreach/campaigns/{paired.campaign.pk}/coverage"
    body = client.get(url, {"region": DIAOWO}).json()
    assert body["idle_days"] == 7 and body["idle_cadres"] == 0
    assert body["cadres"] == [
        {
            "cadre_id": cast.paired.pk,
            "name": "赵明",
            "households": 4,
            "visited": 1,
            "visits": 1,
            "last_visit_at": "2026-06-15T01:00:00Z",
            "idle": False,
        }
    ]
    _on(time_machine, datetime.date(2026, 6, 30))
    body = client.get(url, {"region": DIAOWO}).json()
    assert body["idle_cadres"] == 1 and body["cadres"][0]["idle"] is True
    page = client_for(cast.admin).get(f"/outreach/{paired.campaign.pk}/?region={DIAOWO}")
    assert 'data-figure="idle">1<' in page.content.decode()
    body = client.get(url, {"region": DIAOWO, "idle": 30}).json()
    assert body["idle_days"] == 30 and body["idle_cadres"] == 0
    # 赵明 has no households in 双塔街道.
    assert client.get(url, {"region": SHUANGTA}).json()["cadres"] == []
    assert client.get(url, {"idle": 0}).status_code == 422


def test_the_coverage_api_keeps_the_cadres_in_reach(paired, cast):
    response = api(cast.outsider).get(f"/api/outreach/campaigns/{paired.campaign.pk}/coverage")
    assert response.status_code == 404
    response = api(cast.township).get(
        f"/api/outreach/campaigns/{paired.campaign.pk}/coverage", {"region": DIAOWO}
    )
    assert response.status_code == 404
