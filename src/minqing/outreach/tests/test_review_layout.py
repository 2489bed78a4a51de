"""The outreach pages on a 390 px phone, and the coverage chart.

- The tables fold into one card per row (`.table.stack`), by rules in app.css, the stylesheet
  every page loads: before, they were only in households.css, which the outreach pages do not
  load, and the gap list was 888 px wide in a 330 px box.
- The coverage series carries real dates for a time axis, so twelve days without visits take
  twelve days' width; the chart's legend stands above the plot, clear of the dates.
"""

import datetime
import json
import re
from pathlib import Path

import pytest
from django.utils import timezone

from minqing.households.models import Category
from minqing.households.people import PersonInput
from minqing.households.services import category_grant, household_create
from minqing.lib.idcard import make_id_number
from minqing.outreach import selectors
from minqing.outreach.models import CampaignKind, DayTally
from minqing.outreach.services import VisitInput, campaign_create, pairings_assign, visit_log
from minqing.outreach.tests.conftest import DONGZHANG, at, visit_input
from minqing.regions.models import Region
from minqing.testing import DIAOWO, PASSWORD, WANQUANZHUANG, build_cast
from minqing.web.tests.test_browser import CHROMIUM, CHROMIUM_ARGS

STATIC = Path(selectors.__file__).resolve().parents[1] / "static" / "minqing"
TEMPLATES = Path(selectors.__file__).resolve().parents[1] / "templates"


# -- the coverage series ------------------------------------------------------------------


def test_the_series_gives_each_day_with_visits_its_real_date(paired, cast):
    world = paired
    for household, day in ((world.wang, 2), (world.zhao, 3), (world.wang, 15)):
        visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=household,
            data=visit_input(visited_at=at(day, 9)),
        )

    series = selectors.coverage_series(world.campaign, "130681", 6)

    # Twelve days without visits between 06-03 and 06-15: the dates say so, and the axis
    # runs from the campaign's first day to today.
    assert series == {
        "labels": ["2026-06-02", "2026-06-03", "2026-06-15"],
        "visits": [1, 1, 1],
        "covered": [16.7, 33.3, 33.3],
        "start": "2026-06-01",
        "end": "2026-06-15",
    }


def test_the_axis_ends_with_the_campaign_once_it_is_over(world):
    series = selectors.coverage_series(world.campaign, "130681", 6, today=datetime.date(2027, 1, 5))
    assert series == {
        "labels": [],
        "visits": [],
        "covered": [],
        "start": "2026-06-01",
        "end": "2026-09-30",
    }


def test_a_four_month_campaign_with_visits_every_day_is_a_few_kilobytes(world):
    village = Region.objects.get(code=WANQUANZHUANG)
    days = [world.campaign.start + datetime.timedelta(days=n) for n in range(122)]
    assert days[-1] == world.campaign.end
    DayTally.objects.bulk_create(
        DayTally(campaign=world.campaign, region=village, day=day, visits=37, first_visits=1)
        for day in days
    )

    series = selectors.coverage_series(world.campaign, "130681", 900, today=days[-1])

    assert series["labels"] == [day.isoformat() for day in days]
    assert (series["start"], series["end"]) == ("2026-06-01", "2026-09-30")
    assert len(json.dumps(series)) < 4000


# -- the phone layout's rules and labels ---------------------------------------------------


def test_the_stacked_table_rules_are_in_the_stylesheet_every_page_loads():
    assert "{% static 'minqing/app.css' %}" in (TEMPLATES / "base.html").read_text()
    assert ".table.stack thead { display: none; }" in (STATIC / "app.css").read_text()
    # Written once: no page's own stylesheet carries a copy (outside its comments).
    copies = [
        p.name
        for p in STATIC.glob("*.css")
        if p.name != "app.css"
        and ".table.stack" in re.sub(r"/\*.*?\*/", "", p.read_text(), flags=re.S)
    ]
    assert copies == []


def _labels(body: str, table_class: str) -> set[str]:
    table = re.search(rf'<table class="table stack {table_class}">.*?</table>', body, re.S)
    assert table, table_class
    return set(re.findall(r'<td[^>]* data-label="([^"]+)"', table.group(0)))


def test_the_gap_list_and_the_village_table_say_what_each_value_is(
    paired, cast, client_for, time_machine
):
    time_machine.move_to(at(20, 10), tick=False)  # 张三 is overdue
    client = client_for(cast.admin)
    body = client.get(f"/outreach/{paired.campaign.pk}/households/?show=overdue").content.decode()
    assert "张三" in body
    assert _labels(body, "enrolments") >= {"包联干部", "走访次数", "最近走访", "应访日期"}

    body = client.get(f"/outreach/{paired.campaign.pk}/?region={DIAOWO}").content.decode()
    assert "万全庄村" in body
    assert _labels(body, "coverage-table") == {
        "在册户",
        "第1轮",
        "第2轮",
        "第3轮",
        "必访逾期",
        "未包联",
        "走访户次",
    }


# -- in Chromium, 390 px wide --------------------------------------------------------------

# Every cell of every table on the page: laid out, inside the viewport, and not scrolled out
# of its table's box; and the page itself not wider than the screen.
LAYOUT = """() => {
  const cut = [];
  for (const table of document.querySelectorAll("main table")) {
    const box = table.getBoundingClientRect();
    for (const td of table.querySelectorAll("tbody td")) {
      const r = td.getBoundingClientRect();
      const text = td.textContent.trim();
      if (!text) continue;
      if (r.width === 0 || r.height === 0 || r.left < Math.max(0, box.left - 1)
          || r.right > Math.min(innerWidth, box.right + 1)) cut.push(text.slice(0, 24));
    }
  }
  return { width: document.documentElement.scrollWidth, cut };
}"""

# Boxes of the chart's parts in its own pixels, from its model: the legend, the x axis (line
# and date labels), the plot.
CHART = """() => {
  const c = echarts.getInstanceByDom(document.querySelector("[data-coverage-chart]"));
  const model = c.getModel();
  const box = (m) => {
    const group = c.getViewOfComponentModel(m).group;
    const r = group.getBoundingRect();
    r.applyTransform(group.getComputedTransform());
    return { top: r.y, bottom: r.y + r.height, left: r.x, right: r.x + r.width };
  };
  const plot = model.getComponent("grid").coordinateSystem.getRect();
  const x = model.getComponent("xAxis");
  return {
    height: c.getHeight(),
    legend: box(model.getComponent("legend")),
    xAxis: box(x),
    plot: { top: plot.y, bottom: plot.y + plot.height },
    labels: x.axis.getViewLabels().length,
    type: x.get("type"),
  };
}"""

# On a time axis: where the bars stand, and the width of one day, in pixels.
DAYS = """() => {
  const c = echarts.getInstanceByDom(document.querySelector("[data-coverage-chart]"));
  const bars = c.getOption().series[1].data;
  const x = (t) => c.convertToPixel({ xAxisIndex: 0 }, t);
  return { bars: bars.map(([t]) => x(t)), day: x(bars[0][0] + 86400000) - x(bars[0][0]) };
}"""


def _household(code: str, name: str, n: int):
    return household_create(
        actor=None,
        region=Region.objects.get(code=code),
        address=f"{name}家，村东头第{n}排第{n}号院，门前有棵大槐树",
        head=PersonInput(
            name=name, id_number=make_id_number(code[:6], datetime.date(1950, 1, 1), n)
        ),
        on=datetime.date(2020, 1, 1),
    )


@pytest.mark.browser
def test_the_outreach_pages_fit_a_phone_and_the_chart_keeps_its_dates_clear(
    live_server, flushable_db, monkeypatch
):
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    cast = build_cast()
    today = timezone.localdate()
    zhang, wang, zhao = (
        _household(WANQUANZHUANG, name, n) for n, name in enumerate(("张三", "王五", "赵六"), 1)
    )
    sun = _household(DONGZHANG, "孙八", 4)
    category_grant(
        actor=None,
        category=Category.objects.get(code="tekun"),
        household=zhang,
        start=datetime.date(2024, 1, 1),
    )
    campaign = campaign_create(
        actor=cast.admin,
        name="暖冬行动",
        kind=CampaignKind.WARM_WINTER,
        start=today - datetime.timedelta(days=30),
        end=today + datetime.timedelta(days=60),
        regions=["130681"],
        rounds=3,
        must_visit=[{"category": "tekun", "every_days": 14}],
    )
    pairings_assign(
        actor=cast.admin,
        campaign=campaign,
        households=[zhang, wang, zhao, sun],
        cadre=cast.paired,
        start=campaign.start,
    )
    # Visits 13 days and 1 day ago: twelve days without visits between them.
    for household, days_ago in ((wang, 13), (zhao, 1)):
        visited_at = timezone.make_aware(
            datetime.datetime.combine(today - datetime.timedelta(days=days_ago), datetime.time(9))
        )
        visit_log(
            actor=cast.paired,
            campaign=campaign,
            household=household,
            data=VisitInput(visited_at=visited_at),
        )

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            errors = []
            phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            phone.on("pageerror", lambda e: errors.append(str(e)))
            phone.goto(live_server.url + "/accounts/login/")
            phone.get_by_label("用户名").fill("admin")
            phone.get_by_label("密码").fill(PASSWORD)
            phone.get_by_role("button", name="登录").click()
            phone.wait_for_url(live_server.url + "/")

            # The gap list: one card per household, each value under its label.
            phone.goto(live_server.url + f"/outreach/{campaign.pk}/households/?show=overdue")
            row = phone.locator("table.enrolments tbody tr").first
            expect(row.locator("td.title")).to_have_text("张三")
            for label, value in (
                ("包联干部", "赵明"),
                ("走访次数", "0"),
                ("最近走访", "—"),
                ("应访日期", "逾期"),
            ):
                cell = row.locator(f'td[data-label="{label}"]')
                expect(cell).to_be_in_viewport()
                expect(cell).to_contain_text(value)
            assert (
                phone.evaluate(
                    "() => getComputedStyle(document.querySelector('table.enrolments thead')).display"
                )
                == "none"
            )

            # The villages of 刁窝镇: every round and figure of every village in sight.
            phone.goto(live_server.url + f"/outreach/{campaign.pk}/?region={DIAOWO}")
            village = phone.locator("table.coverage-table tbody tr", has_text="万全庄村")
            for label in ("在册户", "第1轮", "第2轮", "第3轮", "必访逾期", "未包联", "走访户次"):
                cell = village.locator(f'td[data-label="{label}"]')
                cell.scroll_into_view_if_needed()
                expect(cell).to_be_in_viewport()
            expect(village.locator('td[data-label="第1轮"]')).to_contain_text("2")
            expect(village.locator('td[data-label="必访逾期"]')).to_have_text("1")

            for path in (
                "/outreach/",
                f"/outreach/{campaign.pk}/",
                f"/outreach/{campaign.pk}/?region={DIAOWO}",
                f"/outreach/{campaign.pk}/?region={WANQUANZHUANG}",
                f"/outreach/{campaign.pk}/households/?show=overdue",
                f"/outreach/{campaign.pk}/households/?show=all",
                f"/outreach/{campaign.pk}/cadres/",
                f"/outreach/{campaign.pk}/pairings/",
                "/outreach/visits/",
            ):
                phone.goto(live_server.url + path)
                layout = phone.evaluate(LAYOUT)
                assert layout == {"width": 390, "cut": []}, path

            # The chart: the legend above the plot, the dates below it, nothing on top of
            # each other; the days where they fall in time.
            phone.goto(live_server.url + f"/outreach/{campaign.pk}/")
            phone.locator("[data-coverage-chart] canvas").wait_for()
            chart = phone.evaluate(CHART)
            assert chart["legend"]["bottom"] <= chart["plot"]["top"], chart
            assert chart["legend"]["bottom"] <= chart["xAxis"]["top"], chart
            assert chart["plot"]["bottom"] <= chart["xAxis"]["bottom"] <= chart["height"], chart
            assert chart["labels"] >= 2, chart
            assert chart["type"] == "time", chart
            days = phone.evaluate(DAYS)
            first, last = days["bars"]
            assert last - first == pytest.approx(12 * days["day"], abs=1), days
            assert errors == []
        finally:
            browser.close()
