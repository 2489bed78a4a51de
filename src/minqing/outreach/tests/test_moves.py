"""What a reviewer found in the demo county about households that move, close or leave:

- an open pairing follows its household to another village when its cadre reaches it, and
  otherwise ends (kept as history, audited as the system's), so that the new township sees the
  household unpaired and can pair it;
- a household moved out of a campaign's regions leaves that campaign as a closed one does (its
  visits stay counted and listed where they were made), and comes back if it moves back;
- the chart's share of households visited ends at the 第 1 轮 figure after a 销户 or such a move;
- "全部 N 名干部" keeps the idle days chosen on the coverage page.
"""

import datetime
import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from minqing.accounts.roles import Role
from minqing.accounts.services import user_create
from minqing.audit.models import AuditLog
from minqing.households.models import Person, PersonStatus
from minqing.households.services import household_close, household_update
from minqing.outreach.models import CampaignKind, Pairing
from minqing.outreach.services import (
    campaign_create,
    campaign_recount,
    campaigns_refresh,
    pairings_assign,
    visit_log,
)
from minqing.outreach.tests.conftest import (
    DONGZHANG,
    START,
    TODAY,
    WENXINGJIE,
    _household,
    at,
    visit_input,
)
from minqing.outreach.tests.test_api import api, post
from minqing.outreach.tests.test_review_links import _agree, _figure
from minqing.outreach.tests.test_review_rollup import _body, _sheet
from minqing.outreach.tests.test_services import _counters
from minqing.regions.models import Region
from minqing.testing import DIAOWO, PASSWORD, SHUANGTA, WANQUANZHUANG, ZHUOZHOU, set_status


def _move(household, code: str) -> None:
    """Through the registry's service, as a clerk moves a household to another village."""
    household_update(actor=None, household=household, region=Region.objects.get(code=code))


def _coverage(client, campaign, region: str) -> dict:
    response = client.get(f"/api/outreach/campaigns/{campaign.pk}/coverage", {"region": region})
    assert response.status_code == 200, response.content
    return response.json()


def _pairings(client, campaign, region: str) -> list[dict]:
    response = client.get(
        f"/api/outreach/campaigns/{campaign.pk}/pairings", {"region": region, "current": True}
    )
    assert response.status_code == 200, response.content
    return response.json()["items"]


def _start_visit(campaign, household) -> str:
    return f"/outreach/{campaign.pk}/visit/{household.pk}/"


def _agrees_with_a_recount(campaign) -> None:
    kept = _counters(campaign)
    campaign_recount(campaign=campaign)
    assert _counters(campaign) == kept


# ---------------------------------------------------------------------------------------------
# Defect 1: a pairing follows its household, or ends


def test_a_household_moved_out_of_its_cadres_reach_is_unpaired_where_it_lives_now(
    paired, cast, client_for
):
    world = paired
    before = _coverage(api(cast.township), world.campaign, SHUANGTA)
    assert before["total"]["unpaired"] == 1  # 刘芳

    _move(world.wang, WENXINGJIE)  # 万全庄村 (刁窝镇, 赵明's reach) → 文兴街社区 (双塔街道)

    # 赵明's phone no longer offers a visit he could not make.
    mine = client_for(cast.paired).get("/outreach/mine/").content.decode()
    assert _start_visit(world.campaign, world.wang) not in mine
    assert _start_visit(world.campaign, world.zhao) in mine
    # 双塔街道 sees it unpaired, and 赵明 is not one of its cadres.
    township = api(cast.township)
    after = _coverage(township, world.campaign, SHUANGTA)
    assert after["total"]["unpaired"] == 2
    assert after["total"]["households"] == 2
    assert [c["name"] for c in after["cadres"]] == []
    rows = client_for(cast.township).get(
        f"/outreach/{world.campaign.pk}/households/?region={SHUANGTA}&show=unpaired"
    )
    assert "王五" in rows.content.decode()
    # The pairing ended on the day, with why, and stays as the household's history.
    (ended,) = Pairing.objects.filter(household=world.wang)
    assert ended.end == TODAY
    assert ended.end_reason == "该户迁至文兴街社区，不在赵明的管辖范围内，包联自动终止"
    page = client_for(cast.township).get(f"/households/{world.wang.pk}/").content.decode()
    assert "赵明" in page and ended.end_reason in page
    audit = AuditLog.objects.get(entity="outreach.pairing", entity_id=str(ended.pk), action="end")
    assert (audit.actor, audit.actor_name, audit.region_code) == (None, "", WANQUANZHUANG)
    # The new township pairs it with one of its own.
    response = post(
        township,
        f"/api/outreach/campaigns/{world.campaign.pk}/pairings",
        {"household_ids": [world.wang.pk], "cadre_ids": [cast.township.pk], "start": "2026-06-15"},
    )
    assert response.status_code == 201, response.content
    assert [
        (p["household_id"], p["cadre_name"]) for p in _pairings(township, world.campaign, "")
    ] == [(world.wang.pk, "刘海燕")]
    assert _coverage(township, world.campaign, SHUANGTA)["total"]["unpaired"] == 1
    # 万全庄村 counts the three households left, all still paired.
    diaowo = _coverage(api(cast.paired), world.campaign, WANQUANZHUANG)["total"]
    assert (diaowo["households"], diaowo["unpaired"]) == (3, 0)


def test_a_household_moved_within_its_cadres_reach_keeps_its_cadre(paired, cast, client_for):
    world = paired
    _move(world.wang, DONGZHANG)  # another village of 刁窝镇: 赵明 still reaches it

    (pairing,) = Pairing.objects.filter(household=world.wang)
    assert (pairing.region_id, pairing.end, pairing.cadre) == (DONGZHANG, None, cast.paired)
    client = client_for(cast.paired)
    mine = client.get("/outreach/mine/").content.decode()
    assert _start_visit(world.campaign, world.wang) in mine
    assert client.get(_start_visit(world.campaign, world.wang)).status_code == 200
    # Listed where the household lives now, and counted paired there.
    officer = api(cast.paired)
    assert [p["household_id"] for p in _pairings(officer, world.campaign, DONGZHANG)] == [
        world.wang.pk
    ]
    assert world.wang.pk not in [
        p["household_id"] for p in _pairings(officer, world.campaign, WANQUANZHUANG)
    ]
    dongzhang = _coverage(officer, world.campaign, DONGZHANG)
    assert (dongzhang["total"]["households"], dongzhang["total"]["unpaired"]) == (2, 1)
    assert [(c["name"], c["households"]) for c in dongzhang["cadres"]] == [("赵明", 1)]
    audit = AuditLog.objects.get(entity="outreach.pairing", entity_id=str(pairing.pk))
    assert (audit.action, audit.actor, audit.changes) == (
        "move",
        None,
        {"region": [WANQUANZHUANG, DONGZHANG]},
    )


def test_the_daily_refresh_mends_a_pairing_a_move_left_behind(paired, cast, monkeypatch):
    """Households moved before pairings followed moves: the daily refresh ends their pairings."""
    from minqing.households import hooks as household_hooks

    world = paired
    with monkeypatch.context() as m:
        m.setattr(household_hooks, "household_changed", [])
        _move(world.wang, WENXINGJIE)
    campaigns_refresh()
    (pairing,) = Pairing.objects.filter(household=world.wang)
    assert pairing.end == TODAY and "不在赵明的管辖范围内" in pairing.end_reason
    shuangta = _coverage(api(cast.township), world.campaign, SHUANGTA)["total"]
    assert (shuangta["households"], shuangta["unpaired"]) == (2, 2)
    _agrees_with_a_recount(world.campaign)


# ---------------------------------------------------------------------------------------------
# Defect 3: a household moved out of a campaign's regions leaves it


@pytest.fixture
def flood(paired, cast):
    """A campaign of 刁窝镇 alone (like the demo's 灾后重建走访), 张三 (特困) a must-visit
    household every 14 days, 赵明 paired with 张三 and 王五; he visited 张三 on 10 June and
    王五 on 12 June, once each."""
    world = paired
    campaign = campaign_create(
        actor=cast.admin,
        name="汛后走访",
        kind=CampaignKind.POST_DISASTER,
        start=START,
        end=datetime.date(2026, 9, 30),
        regions=[DIAOWO],
        rounds=2,
        must_visit=[{"category": "tekun", "every_days": 14}],
    )
    pairings_assign(
        actor=cast.admin,
        campaign=campaign,
        households=[world.zhang, world.wang],
        cadre=cast.paired,
        start=START,
    )
    for household, day in ((world.zhang, 10), (world.wang, 12)):
        visit_log(
            actor=cast.paired,
            campaign=campaign,
            household=household,
            data=visit_input(visited_at=at(day)),
        )
    return campaign


def _numbers(client, campaign, region) -> tuple:
    total = _coverage(client, campaign, region)["total"]
    return (
        total["households"],
        total["rounds"],
        total["must_visit"],
        total["unpaired"],
        total["visits"],
    )


def test_a_household_moved_out_of_a_campaigns_regions_leaves_it(flood, paired, cast, client_for):
    world = paired
    admin = client_for(cast.admin)
    before = {r: _numbers(api(cast.admin), flood, r) for r in (WANQUANZHUANG, DIAOWO)}
    assert before[WANQUANZHUANG] == (4, [2, 0], 1, 2, 2)

    _move(world.zhang, WENXINGJIE)  # 双塔街道: not in the campaign

    for region in (WANQUANZHUANG, DIAOWO):
        households, rounds, must, unpaired, visits = before[region]
        # Out of 在册户, the rounds and the must-visit figures; its visit was made, and stays.
        assert _numbers(api(cast.admin), flood, region) == (
            households - 1,
            [rounds[0] - 1, 0],
            must - 1,
            unpaired,
            visits,
        )
        checked = _agree(admin, f"/outreach/{flood.pk}/?region={region}")
        assert _figure(checked, "/visits/", campaign=flood.pk, region=region) == visits
    rows = admin.get(f"/outreach/{flood.pk}/households/?region={DIAOWO}&show=all").content
    assert "张三" not in rows.decode()
    must = admin.get(f"/outreach/{flood.pk}/households/?region={DIAOWO}&show=must").content
    assert "张三" not in must.decode()
    # Nor in the monthly report's 在册户数 (its June visit still counts there).
    sheet = _sheet(admin.get(f"/outreach/{flood.pk}/rollup.xlsx?month=2026-06&region={DIAOWO}"))
    assert _body(sheet) == [["东张村", 1, 0, 0, 0, 0], ["万全庄村", 3, 0, 2, 2, 0]]
    # Not on 赵明's phone for either campaign (双塔街道 is beyond his reach too).
    mine = client_for(cast.paired).get("/outreach/mine/").content.decode()
    assert _start_visit(flood, world.zhang) not in mine
    assert _start_visit(world.campaign, world.zhang) not in mine
    assert _start_visit(flood, world.wang) in mine
    ended = Pairing.objects.get(campaign=flood, household=world.zhang)
    assert ended.end == TODAY
    assert ended.end_reason == "该户迁至文兴街社区，不在本活动范围内，包联自动终止"
    _agrees_with_a_recount(flood)


def test_a_household_that_moves_back_comes_back_with_its_visits(flood, paired, cast):
    world = paired
    before = _numbers(api(cast.admin), flood, DIAOWO)
    _move(world.zhang, WENXINGJIE)
    _move(world.zhang, DONGZHANG)  # back into 刁窝镇, another village

    households, rounds, must, unpaired, visits = before
    # Unpaired now (its pairing ended when it left); its visit went with it to 东张村.
    assert _numbers(api(cast.admin), flood, DIAOWO) == (
        households,
        rounds,
        must,
        unpaired + 1,
        visits,
    )
    dongzhang = _numbers(api(cast.admin), flood, DONGZHANG)
    assert dongzhang == (2, [1, 0], 1, 2, 1)
    _agrees_with_a_recount(flood)


def test_the_daily_refresh_takes_out_a_household_a_move_left_behind(
    flood, paired, cast, monkeypatch
):
    """Moved before campaigns followed moves out of their regions: the refresh mends it."""
    from minqing.households import hooks as household_hooks

    world = paired
    with monkeypatch.context() as m:
        m.setattr(household_hooks, "household_changed", [])
        _move(world.zhang, WENXINGJIE)
    assert _numbers(api(cast.admin), flood, DIAOWO)[0] == 5
    campaigns_refresh()
    assert _numbers(api(cast.admin), flood, DIAOWO) == (4, [1, 0], 0, 3, 2)
    assert Pairing.objects.get(campaign=flood, household=world.zhang).end == TODAY
    _agrees_with_a_recount(flood)


# ---------------------------------------------------------------------------------------------
# Defect 4: the chart's share ends at the 第 1 轮 figure


def _series_and_round_one(client, campaign, region: str) -> tuple[list[float], float]:
    page = client.get(f"/outreach/{campaign.pk}/?region={region}").content.decode()
    script = re.search(r'<script id="coverage-series" type="application/json">(.*?)</script>', page)
    series = json.loads(script.group(1))
    share = re.search(r'data-figure="round-1">\d+</span> 第 1 轮已访（([\d.]+)%）', page)
    return series["covered"], float(share.group(1))


def _close(household, cast) -> None:
    set_status(Person.objects.get(pk=household.head_id), PersonStatus.DECEASED)
    household.refresh_from_db()
    household_close(actor=cast.admin, household=household, reason="户主已故", on=TODAY)


def test_the_share_visited_ends_at_the_first_rounds_after_a_closing(paired, cast, client_for):
    world = paired
    for household in world.wanquanzhuang:
        visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=household,
            data=visit_input(visited_at=at(10)),
        )
    for household in (world.wang, world.zhao, world.qian):
        _close(household, cast)

    client = client_for(cast.admin)
    for region in (WANQUANZHUANG, DIAOWO, ZHUOZHOU):
        covered, share = _series_and_round_one(client, world.campaign, region)
        assert covered[-1] == share <= 100
    assert _series_and_round_one(client, world.campaign, WANQUANZHUANG) == ([100.0], 100.0)
    assert _series_and_round_one(client, world.campaign, ZHUOZHOU) == ([33.3], 33.3)
    _agrees_with_a_recount(world.campaign)


def test_the_share_visited_ends_at_the_first_rounds_after_a_move_out(
    flood, paired, cast, client_for
):
    world = paired
    _move(world.zhang, WENXINGJIE)
    client = client_for(cast.admin)
    for region in (WANQUANZHUANG, DIAOWO):
        covered, share = _series_and_round_one(client, flood, region)
        assert covered[-1] == share
    assert _series_and_round_one(client, flood, DIAOWO) == ([0.0, 25.0], 25.0)


# ---------------------------------------------------------------------------------------------
# Defect 5: "全部 N 名干部" keeps the idle days


def test_the_full_cadre_list_marks_the_same_idle_cadres_as_the_first_rows(world, cast, client_for):
    """51 cadres of 万全庄村, one household each; 干部00 visited five days ago: idle at 3 days
    (the days chosen), not at the default 7."""
    village = Region.objects.get(code=WANQUANZHUANG)
    cadres = [
        user_create(
            actor=None,
            username=f"cadre{n:02d}",
            full_name=f"干部{n:02d}",
            role=Role.PAIRED,
            reach=WANQUANZHUANG,
            password=PASSWORD,
        )
        for n in range(51)
    ]
    households = world.wanquanzhuang + [
        _household(
            WANQUANZHUANG,
            "李" + "甲乙丙丁戊己庚辛壬癸"[n % 10] + "子丑寅卯辰"[n // 10],
            f"万全庄村南街{n}号",
            10 + n,
        )
        for n in range(47)
    ]
    for cadre, household in zip(cadres, households, strict=True):
        pairings_assign(
            actor=cast.admin,
            campaign=world.campaign,
            households=[household],
            cadre=cadre,
            start=START,
        )
    visit_log(
        actor=cadres[0],
        campaign=world.campaign,
        household=households[0],
        data=visit_input(visited_at=at(10)),
    )
    client = client_for(cast.admin)
    page = client.get(f"/outreach/{world.campaign.pk}/?region={village.code}&idle=3")
    body = page.content.decode()
    link = re.search(r'<a href="([^"]+)">全部 51 名干部</a>', body).group(1).replace("&amp;", "&")
    assert link == f"/outreach/{world.campaign.pk}/cadres/?region={village.code}&idle=3"

    def idle(html: str) -> set[str]:
        return set(re.findall(r'<tr class="idle">\s*<td class="title">(干部\d+)', html))

    full = idle(client.get(link).content.decode())
    assert "干部00" in idle(body) and idle(body) <= full
    assert full == {f"干部{n:02d}" for n in range(51)}


# ---------------------------------------------------------------------------------------------
# The hook stays on the households it is given


def test_the_registrys_hook_reads_only_the_households_it_is_given(flood, paired, cast):
    """It runs inside every change of the registry: for a move within a campaign, a move out of
    one and a 销户, every statement on the visits or the enrolments is for those households (by
    their ids), never a pass over a campaign's rows (at 涿州市's size, 700,000 visits)."""
    world = paired
    with CaptureQueriesContext(connection) as queries:
        _move(world.wang, DONGZHANG)
        _move(world.zhang, WENXINGJIE)
        _close(world.qian, cast)
    tables = re.compile(r'"outreach_(visit|enrolment)"')
    by_id = re.compile(r'"(household_id|id)" IN \((?!SELECT)')
    touching = [q["sql"] for q in queries if tables.search(q["sql"])]
    assert len(touching) > 10  # what is checked: the statements are there, with their text
    assert [sql for sql in touching if not by_id.search(sql)] == []
    for campaign in (world.campaign, flood):
        _agrees_with_a_recount(campaign)
