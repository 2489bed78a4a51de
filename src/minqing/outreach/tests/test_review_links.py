"""What a county supervisor found in review: every figure of coverage links to exactly its rows.
A household moved to another village takes its visits with it (the visits figure of every
region and the visits its link lists agree, on the page and in the API, and the new village's
people see them); the cadre table counts a region's own visits; the must-visit figure and
the cadre table's figures have links of their own."""

import datetime
import html
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from minqing.households.models import Category
from minqing.households.services import category_grant, household_update
from minqing.outreach.models import CadreTally, DayTally, Enrolment, Flag, Need, Tally, Visit
from minqing.outreach.selectors import cadre_table, coverage
from minqing.outreach.services import (
    campaign_recount,
    pairings_assign,
    visit_flag,
    visit_log,
)
from minqing.outreach.tests.conftest import DONGZHANG, START, WENXINGJIE, _household, at
from minqing.outreach.tests.conftest import visit_input as entry
from minqing.outreach.tests.test_api import api
from minqing.regions.models import Region
from minqing.testing import DIAOWO, SHUANGTA, WANQUANZHUANG, ZHUOZHOU

# The pages that list a figure's rows, each row headed by a <td class="title">.
LISTS = re.compile(r"^/outreach/(visits/|\d+/households/|\d+/cadres/)$")


class _Links(HTMLParser):
    """Every link of a page: (href, its text)."""

    def __init__(self):
        super().__init__()
        self.links, self._open = [], []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._open.append([dict(attrs).get("href", ""), ""])

    def handle_data(self, data):
        for link in self._open:
            link[1] += data

    def handle_endtag(self, tag):
        if tag == "a" and self._open:
            self.links.append(tuple(self._open.pop()))


def _rows(client, href: str) -> int:
    """The rows the list at ``href`` shows, page after page."""
    path, n = urlsplit(href).path, 0
    while href:
        response = client.get(href)
        assert response.status_code == 200, href
        body = response.content.decode()
        n += body.count('<td class="title">')
        more = re.search(r'<tr class="more"><td colspan="\d+"><a href="([^"]+)"', body)
        href = path + html.unescape(more.group(1)) if more else None
    return n


def _figures_and_rows(client, page: str) -> list[tuple[str, int, int]]:
    """Each figure of ``page`` that links to a list: (link, the figure, the rows listed)."""
    response = client.get(page)
    assert response.status_code == 200, page
    parser = _Links()
    parser.feed(response.content.decode())
    checked = []
    for href, text in parser.links:
        figure = re.match(r"\s*(\d+)", text)
        if figure and LISTS.match(urlsplit(href).path):
            checked.append((href, int(figure.group(1)), _rows(client, href)))
    return checked


def _agree(client, page: str) -> list[tuple[str, int, int]]:
    checked = _figures_and_rows(client, page)
    assert checked, page
    assert [(href, figure) for href, figure, _rows in checked] == [
        (href, rows) for href, _figure, rows in checked
    ]
    return checked


def _figure(checked, path: str, **query) -> int:
    """The figure whose link goes to ``path`` with exactly this query."""
    want = {k: str(v) for k, v in query.items()}
    (figure,) = [
        n
        for href, n, _r in checked
        if urlsplit(href).path.endswith(path)
        and {k: v for k, (v,) in parse_qs(urlsplit(href).query).items()} == want
    ]
    return figure


def _move(world, household, code):
    household_update(actor=None, household=household, region=Region.objects.get(code=code))


def _counters(campaign) -> tuple:
    return (
        set(Tally.objects.filter(campaign=campaign).values_list("region_id", "round", "visits")),
        set(
            DayTally.objects.filter(campaign=campaign).values_list(
                "region_id", "day", "visits", "first_visits"
            )
        ),
        set(CadreTally.objects.filter(campaign=campaign).values_list("cadre_id", "visits")),
    )


# ---------------------------------------------------------------------------------------------
# Defect 1: a household moved to another village takes its visits with it


@pytest.fixture
def visited(paired, cast):
    """赵明 visited 王五 (万全庄村, 刁窝镇) twice, with a need and a flag, and 赵六 once."""
    world = paired
    first, _c = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=entry(visited_at=at(10), needs=["修缮屋顶"]),
    )
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=entry(visited_at=at(12)),
    )
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.zhao,
        data=entry(visited_at=at(12)),
    )
    visit_flag(actor=cast.supervisor, visit=first, reason="照片与地址不符")
    return world


# The old village and township, the new ones, and the county.
REGIONS = [WANQUANZHUANG, DIAOWO, WENXINGJIE, SHUANGTA, ZHUOZHOU]


def test_a_moved_households_visits_are_counted_and_listed_where_it_lives_now(
    visited, cast, client_for
):
    world = visited
    _move(world, world.wang, WENXINGJIE)  # 双塔街道's 文兴街社区
    client = client_for(cast.admin)
    visits, campaign = {}, world.campaign.pk
    for region in REGIONS:
        checked = _agree(client, f"/outreach/{campaign}/?region={region}")
        visits[region] = _figure(checked, "/visits/", campaign=campaign, region=region)
        if region == ZHUOZHOU:  # its table of townships
            below = _figure(checked, "/visits/", campaign=campaign, region=SHUANGTA)
    assert visits == {WANQUANZHUANG: 1, DIAOWO: 1, WENXINGJIE: 2, SHUANGTA: 2, ZHUOZHOU: 3}
    assert below == 2
    # The visit's need and flag went with it: the new township's supervisor finds the flag.
    assert set(Need.objects.values_list("region_id", flat=True)) == {WENXINGJIE}
    assert set(Flag.objects.values_list("region_id", flat=True)) == {WENXINGJIE}


def test_the_api_lists_as_many_visits_as_its_coverage_counts_after_a_move(visited, cast):
    world = visited
    _move(world, world.wang, WENXINGJIE)
    client = api(cast.admin)
    coverage_url = f"/api/outreach/campaigns/{world.campaign.pk}/coverage"
    for region in REGIONS:
        body = client.get(coverage_url, {"region": region}).json()
        for figures in [body["total"], *body["below"]]:
            listed, after = 0, None
            while True:
                query = {"campaign": world.campaign.pk, "region": figures["region"]}
                page = client.get(
                    "/api/outreach/visits", query | ({"after": after} if after else {})
                )
                assert page.status_code == 200
                listed += len(page.json()["items"])
                if not (after := page.json()["next"]):
                    break
            assert (figures["region"], figures["visits"]) == (figures["region"], listed)
    assert client.get(coverage_url, {"region": SHUANGTA}).json()["total"]["visits"] == 2


def test_the_new_townships_people_see_a_moved_households_visits_and_the_old_ones_do_not(
    visited, cast, client_for
):
    world = visited
    ids = list(Visit.objects.filter(household=world.wang).values_list("pk", flat=True))
    _move(world, world.wang, WENXINGJIE)
    township = client_for(cast.township)  # 双塔街道
    page = township.get(f"/households/{world.wang.pk}/").content.decode()
    assert "还没有走访记录" not in page
    assert all(f'href="/outreach/visits/{pk}/"' in page for pk in ids)
    assert all(township.get(f"/outreach/visits/{pk}/").status_code == 200 for pk in ids)
    assert all(
        api(cast.township).get(f"/api/outreach/visits/{pk}").status_code == 200 for pk in ids
    )
    # The gap list's row of 王五 and the household page tell the same story.
    rows = township.get(f"/outreach/{world.campaign.pk}/households/?show=all").content.decode()
    assert "王五" in rows
    for old in (cast.village, cast.paired):  # 万全庄村, 刁窝镇
        assert all(client_for(old).get(f"/outreach/visits/{pk}/").status_code == 404 for pk in ids)
        assert all(api(old).get(f"/api/outreach/visits/{pk}").status_code == 404 for pk in ids)


def test_a_move_keeps_the_day_tallies_as_a_recount_makes_them(visited, cast):
    world = visited
    _move(world, world.wang, WENXINGJIE)
    _move(world, world.zhao, WENXINGJIE)  # 赵六's only visit: 万全庄村's day of 12 June empties
    _move(world, world.wang, DONGZHANG)
    kept = _counters(world.campaign)
    campaign_recount(campaign=world.campaign)
    assert _counters(world.campaign) == kept
    assert ("130681107200", datetime.date(2026, 6, 10), 1, 1) in kept[1]
    assert not DayTally.objects.filter(region_id=WANQUANZHUANG, day=datetime.date(2026, 6, 12))


def test_households_moved_by_a_big_import_take_their_visits_too(visited, cast, monkeypatch):
    """Past FOLLOW_IN_BULK households the whole campaign is enrolled again: the same move."""
    from minqing.outreach import services

    monkeypatch.setattr(services, "FOLLOW_IN_BULK", 0)
    world = visited
    _move(world, world.wang, WENXINGJIE)
    assert Enrolment.objects.get(household=world.wang).region_id == WENXINGJIE
    assert set(Visit.objects.filter(household=world.wang).values_list("region_id", flat=True)) == {
        WENXINGJIE
    }
    assert coverage(world.campaign, SHUANGTA)[""].visits == 2
    kept = _counters(world.campaign)
    campaign_recount(campaign=world.campaign)
    assert _counters(world.campaign) == kept


# ---------------------------------------------------------------------------------------------
# Defect 2: the cadre table of a region counts that region's visits


@pytest.fixture
def two_villages(paired, cast):
    """赵明 holds 万全庄村's four households and 东张村's 孙八; he visited 万全庄村 twice on
    5 June and 孙八 on 15 June (today)."""
    world = paired
    pairings_assign(
        actor=cast.admin,
        campaign=world.campaign,
        households=[world.sun],
        cadre=cast.paired,
        start=START,
    )
    for household in (world.wang, world.zhao):
        visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=household,
            data=entry(visited_at=at(5)),
        )
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.sun,
        data=entry(visited_at=at(15)),
    )
    return world


def _zhao_ming(world, prefix):
    (row,) = cadre_table(world.campaign, prefix)
    return row["households"], row["visited"], row["visits"], row["idle"]


def test_the_cadre_table_of_a_village_counts_the_visits_made_there(two_villages, cast):
    world = two_villages
    assert _zhao_ming(world, WANQUANZHUANG) == (4, 2, 2, True)  # last visit there: 5 June
    assert _zhao_ming(world, DONGZHANG) == (1, 1, 1, False)
    assert _zhao_ming(world, DIAOWO) == (5, 3, 3, False)
    assert _zhao_ming(world, ZHUOZHOU) == (5, 3, 3, False)


@pytest.mark.parametrize(
    ("region", "visits", "idle"),
    [(WANQUANZHUANG, 2, 1), (DONGZHANG, 1, 0), (DIAOWO, 3, 0), (ZHUOZHOU, 3, 0)],
)
def test_the_cadre_tables_figures_link_to_their_rows_in_the_region(
    two_villages, cast, client_for, region, visits, idle
):
    world = two_villages
    client = client_for(cast.admin)
    checked = _agree(client, f"/outreach/{world.campaign.pk}/?region={region}")
    cadre = cast.paired.pk
    assert _figure(checked, "/visits/", campaign=world.campaign.pk, region=region, cadre=cadre) == (
        visits
    )
    assert _figure(checked, "/cadres/", region=region, idle=7, only="idle") == idle
    page = client.get(f"/outreach/{world.campaign.pk}/?region={region}").content.decode()
    assert f'data-figure="idle">{idle}<' in page
    # The page of all the cadres says the same.
    _agree(client, f"/outreach/{world.campaign.pk}/cadres/?region={region}")


def test_a_village_page_reads_the_cadres_visits_of_the_village_only(two_villages, cast):
    """Not the campaign's index over the whole county: the statement names the village."""
    world = two_villages
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        cadre_table(world.campaign, WANQUANZHUANG)
    visits_table = Visit._meta.db_table
    reads = [q["sql"] for q in captured.captured_queries if visits_table in q["sql"]]
    assert len(reads) == 1 and WANQUANZHUANG in reads[0]


# ---------------------------------------------------------------------------------------------
# Defect 7: every figure has a link of its own


def test_the_must_visit_households_covered_on_time_have_their_own_list(
    paired, cast, client_for, time_machine
):
    world = paired
    li = _household(WANQUANZHUANG, "李十", "万全庄村东街12号", 8)
    category_grant(
        actor=None,
        category=Category.objects.get(code="tekun"),
        household=li,
        start=datetime.date(2026, 6, 1),
    )
    visit_log(actor=cast.paired, campaign=world.campaign, household=world.zhang, data=entry())
    time_machine.move_to(at(20, 10), tick=False)  # 李十 was due on 15 June
    client = client_for(cast.admin)
    for region in (WANQUANZHUANG, DIAOWO, ZHUOZHOU):
        checked = _agree(client, f"/outreach/{world.campaign.pk}/?region={region}")
        assert _figure(checked, "/households/", region=region, show="covered") == 1
        assert _figure(checked, "/households/", region=region, show="must") == 2
        assert _figure(checked, "/households/", region=region, show="overdue") == 1
    body = client.get(f"/outreach/{world.campaign.pk}/households/?show=covered").content.decode()
    assert "张三" in body and "李十" not in body and "按期走访的必访户" in body


def test_the_cadre_tables_households_and_visited_figures_link_to_their_rows(
    two_villages, cast, client_for
):
    world = two_villages
    client = client_for(cast.admin)
    cadre = cast.paired.pk
    for region, households, visited in ((WANQUANZHUANG, 4, 2), (DONGZHANG, 1, 1), (DIAOWO, 5, 3)):
        checked = _agree(client, f"/outreach/{world.campaign.pk}/?region={region}")
        mine = {"region": region, "cadre": cadre}
        assert _figure(checked, "/households/", show="all", **mine) == households
        assert _figure(checked, "/households/", show="visited", **mine) == visited
    body = client.get(
        f"/outreach/{world.campaign.pk}/households/?region={WANQUANZHUANG}&show=visited&cadre={cadre}"
    ).content.decode()
    assert "王五" in body and "赵六" in body and "张三" not in body and "赵明" in body


def test_a_cadre_out_of_reach_does_not_filter_the_households(two_villages, cast, client_for):
    url = f"/outreach/{two_villages.campaign.pk}/households/?cadre={cast.outsider.pk}"
    assert client_for(cast.admin).get(url).status_code == 404
    assert client_for(cast.admin).get(url.replace(str(cast.outsider.pk), "x")).status_code == 404
