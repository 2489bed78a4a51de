"""Each service: the rule, the refusal, the audit row; and the counters coverage reads."""

import contextlib
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from minqing.audit.models import AuditLog
from minqing.households.models import Category, CategoryGrant
from minqing.households.people import PersonInput
from minqing.households.services import (
    category_end,
    category_grant,
    household_update,
    person_add,
    person_move,
)
from minqing.lib.idcard import make_id_number
from minqing.outreach import hooks
from minqing.outreach.models import (
    Amendment,
    CadreTally,
    DayTally,
    Enrolment,
    Flag,
    FlagKind,
    Need,
    Pairing,
    PairingKind,
    Tally,
    Visit,
)
from minqing.outreach.selectors import coverage, coverage_table, gap_list, my_households
from minqing.outreach.services import (
    campaign_create,
    campaign_recount,
    campaign_update,
    campaigns_refresh,
    need_link_case,
    pairing_handover,
    pairings_assign,
    pairings_spread,
    visit_amend,
    visit_code_send,
    visit_confirm,
    visit_flag,
    visit_log,
    visit_update,
)
from minqing.outreach.tasks import refresh_campaigns
from minqing.outreach.tests.conftest import START, ZHANG_PHONE, _household, at, visit_input
from minqing.regions.models import Region
from minqing.testing import DIAOWO, WANQUANZHUANG


def _total(world, prefix="130681", **kwargs):
    return coverage(world.campaign, prefix, **kwargs)[""]


# Campaigns


def test_campaign_enrols_every_household_of_its_regions_and_marks_must_visit_ones(world):
    total = _total(world)
    assert total.households == 6  # 周九 of 永清县 is not in 涿州市's campaign
    assert total.rounds == [0, 0, 0]
    assert (total.must_visit, total.overdue, total.unpaired) == (1, 0, 6)
    zhang = Enrolment.objects.get(campaign=world.campaign, household=world.zhang)
    assert zhang.next_due == datetime.date(2026, 6, 15)
    assert AuditLog.objects.filter(entity="outreach.campaign", action="create").count() == 1


def test_a_township_officer_cannot_start_a_county_campaign(world, cast):
    with pytest.raises(PermissionDenied):
        campaign_create(
            actor=cast.viewer, name="x", kind="other", start=START, end=START, regions=["130681"]
        )
    with pytest.raises(ValidationError, match="不在您的管辖范围内"):
        campaign_create(
            actor=cast.township, name="x", kind="other", start=START, end=START, regions=["130681"]
        )


def test_a_campaign_with_a_bad_region_or_rule_is_refused_with_the_reason(world, cast):
    with pytest.raises(ValidationError) as error:
        campaign_create(
            actor=cast.admin,
            name="x",
            kind="other",
            start=START,
            end=START,
            regions=["1306"],
            must_visit=[{"category": "nope", "every_days": 7}],
        )
    assert "1306" in str(error.value)
    assert "nope" in str(error.value)


# Visits and coverage


def test_a_visit_counts_at_once_in_village_township_and_county(world, cast):
    visit, created = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(aspects=["生活", "生产"], found="屋顶漏雨", needs=["修缮屋顶"]),
    )
    assert created and visit.round == 1
    for prefix in ("130681", DIAOWO, WANQUANZHUANG):
        total = _total(world, prefix)
        assert total.rounds[0] == 1
        assert total.visits == 1
    table = {row["name"]: row["figures"] for row in coverage_table(world.campaign, "130681")}
    assert table["刁窝镇"].rounds == [1, 0, 0]
    assert table["双塔街道"].rounds == [0, 0, 0]
    assert Need.objects.get().text == "修缮屋顶"
    audit = AuditLog.objects.get(entity="outreach.visit", entity_id=str(visit.pk))
    assert audit.actor == cast.paired


def test_a_second_visit_is_round_two(world, cast):
    for day in (10, 12):
        visit, _ = visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=world.wang,
            data=visit_input(visited_at=at(day)),
        )
    assert visit.round == 2
    assert _total(world).rounds == [1, 1, 0]


def test_the_same_offline_entry_posted_twice_makes_one_visit(world, cast):
    data = visit_input(client_id="phone-1:42", needs=["低保申请"])
    first, created = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.zhao, data=data
    )
    again, created_again = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.zhao, data=data
    )
    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Visit.objects.count() == 1 and Need.objects.count() == 1
    assert _total(world).rounds == [1, 0, 0]
    assert _total(world).visits == 1


def _counters(campaign) -> dict:
    """Every counter coverage reads, and the county's coverage figures."""
    return {
        "tallies": set(
            Tally.objects.filter(campaign=campaign).values_list(
                "region_id", "round", "households", "visits"
            )
        ),
        "days": set(
            DayTally.objects.filter(campaign=campaign, visits__gt=0).values_list(
                "region_id", "day", "visits", "first_visits"
            )
        ),
        "cadres": set(
            CadreTally.objects.filter(campaign=campaign, visits__gt=0).values_list(
                "cadre_id", "visits", "last_visit_at"
            )
        ),
        "enrolments": set(
            Enrolment.objects.filter(campaign=campaign).values_list(
                "household_id", "visits", "last_visit_at", "promise_open", "next_due"
            )
        ),
        "coverage": [(row["name"], row["figures"]) for row in coverage_table(campaign, "130681")],
    }


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    entries=st.lists(
        st.tuples(
            st.integers(0, 5),  # household
            st.booleans(),  # posted by the county admin, else by the paired cadre
            st.integers(0, 14 * 24 * 60 - 1),  # minutes after 2026-06-01 08:00
            st.booleans(),  # a promise made
            st.sampled_from(["", "", "a", "b"]),  # client id: retries of "a" or "b"
        ),
        min_size=1,
        max_size=12,
    )
)
def test_the_counters_kept_while_posting_agree_with_a_recount_from_the_visits(world, cast, entries):
    households = [world.zhang, world.wang, world.zhao, world.qian, world.sun, world.liu]
    start = at(1, 8)
    sid = transaction.savepoint()
    try:
        for index, by_admin, minutes, promised, client_id in entries:
            actor = cast.admin if by_admin else cast.paired
            # Refused: out of the paired cadre's reach, or another cadre's client id.
            with contextlib.suppress(PermissionDenied, ValidationError):
                visit_log(
                    actor=actor,
                    campaign=world.campaign,
                    household=households[index],
                    data=visit_input(
                        visited_at=start + datetime.timedelta(minutes=minutes),
                        promised="下周送煤" if promised else "",
                        client_id=client_id,
                    ),
                )
        kept = _counters(world.campaign)
        campaign_recount(campaign=world.campaign)
        assert _counters(world.campaign) == kept
        assert _total(world).visits == Visit.objects.count()
    finally:
        transaction.savepoint_rollback(sid)


def test_a_client_id_of_another_cadre_is_refused(world, cast):
    data = visit_input(client_id="same")
    visit_log(actor=cast.paired, campaign=world.campaign, household=world.zhao, data=data)
    with pytest.raises(ValidationError):
        visit_log(actor=cast.village, campaign=world.campaign, household=world.zhao, data=data)


def test_a_cadre_cannot_log_a_visit_out_of_reach(world, cast):
    with pytest.raises(PermissionDenied):
        visit_log(
            actor=cast.village, campaign=world.campaign, household=world.liu, data=visit_input()
        )
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"visited_at": at(20, month=5)}, "不在活动"),
        ({"visited_at": at(16)}, "不能晚于现在"),
        ({"aspects": ["打牌"]}, "打牌"),
        ({"photos": [("big.jpg", b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024))]}, "big.jpg"),
        ({"photos": [("notes.txt", b"hello")]}, "notes.txt"),
        ({"latitude": 39.5}, "同时填写"),
    ],
)
def test_a_bad_visit_is_refused_with_the_reason(world, cast, kwargs, message):
    with pytest.raises(ValidationError) as error:
        visit_log(
            actor=cast.paired,
            campaign=world.campaign,
            household=world.wang,
            data=visit_input(**kwargs),
        )
    assert message in str(error.value)
    assert Visit.objects.count() == 0
    assert _total(world).visits == 0


def test_photos_are_stored_through_the_storage(world, cast, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    visit, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(photos=[("门前.jpg", b"\xff\xd8\xff\xe0 photo")]),
    )
    photo = visit.photos.get()
    assert photo.size == 10
    assert (tmp_path / photo.file.name).read_bytes() == b"\xff\xd8\xff\xe0 photo"


# Must-visit and the gap list


def test_an_overdue_must_visit_household_is_in_the_gap_list_of_village_township_and_county(
    world, cast, time_machine
):
    pairings_assign(
        actor=cast.admin,
        campaign=world.campaign,
        households=[world.zhang],
        cadre=cast.paired,
        start=START,
    )
    time_machine.move_to(at(20, 10), tick=False)
    for prefix in (WANQUANZHUANG, DIAOWO, "130681"):
        rows = list(gap_list(world.campaign, prefix))
        assert [(r.household, r.cadre) for r in rows] == [(world.zhang, cast.paired)]
    assert list(gap_list(world.campaign, "130681001")) == []
    assert _total(world).overdue == 1

    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.zhang,
        data=visit_input(visited_at=at(20, 9)),
    )
    assert list(gap_list(world.campaign, "130681")) == []
    assert Enrolment.objects.get(household=world.zhang).next_due == datetime.date(2026, 7, 4)


def test_the_registrys_changes_reach_the_running_campaign(world, cast, time_machine):
    """Miss no household: a household registered after the campaign began is in scope and
    unpaired at once, one granted 特困 since is in the gap list when its interval passes, and
    one whose grant ends leaves it; a household moved to another village is counted there."""
    li = _household(WANQUANZHUANG, "李十", "万全庄村东街12号", 8)
    total = _total(world)
    assert (total.households, total.unpaired) == (7, 7)
    assert coverage(world.campaign, WANQUANZHUANG)[""].households == 5
    tekun = Category.objects.get(code="tekun")
    grant = category_grant(
        actor=None, category=tekun, household=li, start=datetime.date(2026, 6, 15)
    )
    assert _enrolment(world, li).must_every_days == 14
    time_machine.move_to(at(20, 10), tick=False)
    assert {r.household for r in gap_list(world.campaign, "130681")} == {world.zhang, li}
    category_end(actor=None, grant=grant, end=datetime.date(2026, 6, 19))
    assert {r.household for r in gap_list(world.campaign, "130681")} == {world.zhang}
    assert _total(world).must_visit == 1
    household_update(
        actor=None, household=world.wang, region=Region.objects.get(code="130681107200")
    )
    assert coverage(world.campaign, WANQUANZHUANG)[""].households == 4
    assert coverage(world.campaign, "130681107200")[""].households == 2
    assert _total(world).households == 7


def test_a_big_change_refreshes_whole_campaigns(world, cast, monkeypatch):
    """Past FOLLOW_IN_BULK households (a county's import), the campaign is enrolled again as a
    whole rather than household by household: the same result."""
    from minqing.outreach import services

    monkeypatch.setattr(services, "FOLLOW_IN_BULK", 0)
    li = _household(WANQUANZHUANG, "李十", "万全庄村东街12号", 8)
    category_grant(
        actor=None,
        category=Category.objects.get(code="tekun"),
        household=li,
        start=datetime.date(2026, 6, 15),
    )
    assert _enrolment(world, li).must_every_days == 14
    assert (_total(world).households, _total(world).must_visit) == (7, 2)


@contextlib.contextmanager
def _enrolled_meanwhile(other):
    """``other()`` runs just before the first INSERT into the enrolment table: as another
    transaction enrolling the same household after this one read the enrolments and before it
    wrote them (on PostgreSQL that insert waits for the other to commit, then meets its row)."""
    table = connection.ops.quote_name(Enrolment._meta.db_table)
    done = []

    def before_insert(execute, sql, params, many, context):
        if not done and sql.lstrip().startswith(f"INSERT INTO {table}"):
            done.append(True)  # before other(), whose own insert comes through here
            other()
        return execute(sql, params, many, context)

    with connection.execute_wrapper(before_insert):
        yield
    assert done, "no enrolment was inserted"


def _unannounced_household(monkeypatch):
    """李十 of 万全庄村, 特困, registered without telling outreach yet: not enrolled."""
    from minqing.households import hooks as household_hooks

    with monkeypatch.context() as m:
        m.setattr(household_hooks, "household_changed", [])
        li = _household(WANQUANZHUANG, "李十", "万全庄村东街12号", 8)
        category_grant(
            actor=None,
            category=Category.objects.get(code="tekun"),
            household=li,
            start=datetime.date(2026, 6, 1),
        )
    assert not Enrolment.objects.filter(household=li).exists()
    return li


def _village_tally(world) -> int:
    return Tally.objects.get(campaign=world.campaign, region_id=WANQUANZHUANG, round=0).households


@pytest.mark.parametrize("other", ["households_changed", "campaign_enrol"])
def test_a_household_enrolled_meanwhile_is_followed_and_counted_once(
    world, cast, monkeypatch, other
):
    """The registry's change of a household meets its enrolment by another transaction (the
    same household changed twice at once, or a campaign edit): no failure on the unique key,
    the must-visit rule still refreshed, and the household counted once in the tallies."""
    from minqing.outreach import services

    li = _unannounced_household(monkeypatch)
    assert _village_tally(world) == 4
    meanwhile = {
        "households_changed": lambda: services.households_changed([li.pk]),
        "campaign_enrol": lambda: services.campaign_enrol(campaign=world.campaign),
    }[other]
    with _enrolled_meanwhile(meanwhile):
        services.households_changed([li.pk])
    assert Enrolment.objects.filter(household=li).count() == 1
    assert _enrolment(world, li).must_every_days == 14
    assert _village_tally(world) == 5
    total = _total(world)
    assert (total.households, total.must_visit, total.unpaired) == (7, 2, 7)


def test_a_campaign_edit_meets_a_household_registered_at_the_same_moment(world, cast, monkeypatch):
    """A campaign edit enrols what it read as not enrolled; a household the registry enrolled
    meanwhile is skipped, not a failure of the edit, and counted once."""
    from minqing.outreach import services

    li = _unannounced_household(monkeypatch)
    with _enrolled_meanwhile(lambda: services.households_changed([li.pk])):
        campaign_update(actor=cast.admin, campaign=world.campaign, name="2026年暖冬行动（续）")
    assert Enrolment.objects.filter(household=li).count() == 1
    assert _village_tally(world) == 5
    assert (_total(world).households, _total(world).must_visit) == (7, 2)
    assert AuditLog.objects.filter(entity="outreach.campaign", action="update").exists()


def test_the_daily_refresh_drops_a_must_visit_category_whose_end_has_passed(
    world, cast, time_machine
):
    """A grant's end date passing calls no hook: the daily task (and `minqing
    campaigns_refresh`) takes the household out of the gap list the day after."""
    grant = CategoryGrant.objects.get(household=world.zhang)
    CategoryGrant.objects.filter(pk=grant.pk).update(end=datetime.date(2026, 6, 25))
    time_machine.move_to(at(25, 10), tick=False)
    campaigns_refresh()
    assert [r.household for r in gap_list(world.campaign, "130681")] == [world.zhang]
    time_machine.move_to(at(26, 10), tick=False)
    out = io.StringIO()
    call_command("campaigns_refresh", stdout=out)
    assert "2026年暖冬行动：在册 6 户" in out.getvalue()
    assert list(gap_list(world.campaign, "130681")) == []
    assert _total(world).must_visit == 0
    assert AuditLog.objects.filter(entity="outreach.campaign", action="refresh").count() == 2
    assert refresh_campaigns.call(reschedule=False) == {str(world.campaign.pk): 6}


def test_a_member_moving_brings_their_must_visit_category_along(world, cast):
    campaign_update(
        actor=cast.admin,
        campaign=world.campaign,
        must_visit=[
            {"category": "tekun", "every_days": 14},
            {"category": "elderly_alone", "every_days": 30},
        ],
    )
    old_man = person_add(
        actor=None,
        household=world.wang,
        data=PersonInput(
            name="王老汉",
            id_number=make_id_number("130681", datetime.date(1940, 3, 1), 9),
            relation="parent",
        ),
    )
    assert _enrolment(world, world.wang).must_every_days is None
    category_grant(
        actor=None,
        category=Category.objects.get(code="elderly_alone"),
        person=old_man,
        start=datetime.date(2026, 6, 1),
    )
    assert _enrolment(world, world.wang).must_every_days == 30
    person_move(actor=None, person=old_man, household=world.zhao, relation="parent")
    assert _enrolment(world, world.wang).must_every_days is None
    assert _enrolment(world, world.zhao).must_every_days == 30


def _enrolment(world, household) -> Enrolment:
    return Enrolment.objects.get(campaign=world.campaign, household=household)


# Pairing


def test_spreading_households_keeps_neighbours_together(world, cast):
    shares = pairings_spread(
        actor=cast.admin,
        campaign=world.campaign,
        households=world.wanquanzhuang,
        cadres=[cast.paired, cast.village],
        start=START,
    )
    assert shares == {cast.paired.pk: 2, cast.village.pk: 2}
    by_cadre = {
        cadre: sorted(
            Pairing.objects.filter(cadre=cadre).values_list("household__address", flat=True)
        )
        for cadre in (cast.paired, cast.village)
    }
    # Natural order: 东街2号, 东街4号 | 东街10号, 西街1号.
    assert by_cadre[cast.paired] == ["万全庄村东街2号", "万全庄村东街4号"]
    assert by_cadre[cast.village] == ["万全庄村东街10号", "万全庄村西街1号"]
    assert _total(world, WANQUANZHUANG).unpaired == 0


def test_a_household_already_paired_is_not_paired_again(world, cast):
    pairings_assign(
        actor=cast.admin,
        campaign=world.campaign,
        households=[world.wang],
        cadre=cast.paired,
        start=START,
    )
    with pytest.raises(ValidationError) as error:
        pairings_assign(
            actor=cast.admin,
            campaign=world.campaign,
            households=[world.wang, world.zhao],
            cadre=cast.village,
            start=START,
        )
    assert "1 户已有包联干部" in str(error.value)
    assert Pairing.objects.count() == 1


def test_a_household_is_paired_only_with_a_cadre_who_reaches_it(world, cast, client_for):
    """Paired out of the cadre's reach, the household would sit on their phone page with a
    开始走访 that leads to a 404: refused, by assignment and by spreading alike."""
    with pytest.raises(ValidationError, match="刘芳户不在赵明的管辖范围内"):
        pairings_assign(
            actor=cast.admin,
            campaign=world.campaign,
            households=[world.liu],
            cadre=cast.paired,
            start=START,
        )
    with pytest.raises(ValidationError, match="孙八户不在陈立军的管辖范围内"):
        pairings_spread(
            actor=cast.admin,
            campaign=world.campaign,
            households=[world.zhang, world.sun],  # 东张村's 孙八 first, to 陈立军 of 万全庄村
            cadres=[cast.village, cast.paired],
            start=START,
        )
    assert not Pairing.objects.exists()
    # Within reach: every household on the phone page opens its visit form.
    pairings_assign(
        actor=cast.admin,
        campaign=world.campaign,
        households=[world.zhang, world.sun],
        cadre=cast.paired,
        start=START,
    )
    client = client_for(cast.paired)
    for row in my_households(cast.paired):
        url = f"/outreach/{row.campaign_id}/visit/{row.household_id}/"
        assert client.get(url).status_code == 200


def test_handover_keeps_history_and_leaves_no_household_unpaired(paired, cast):
    world = paired  # 赵明 holds the four households of 万全庄村
    shares = pairing_handover(
        actor=cast.admin,
        campaign=world.campaign,
        cadre=cast.paired,
        successors=[cast.village],
        on=datetime.date(2026, 6, 10),
        reason="调离",
    )
    assert shares == {cast.village.pk: 4}
    ended = Pairing.objects.filter(cadre=cast.paired)
    assert ended.count() == 4 and all(p.end == datetime.date(2026, 6, 10) for p in ended)
    assert Pairing.objects.filter(cadre=cast.village, end__isnull=True).count() == 4
    assert _total(world, WANQUANZHUANG).unpaired == 0
    assert set(
        Enrolment.objects.filter(cadre=cast.village).values_list("household", flat=True)
    ) == {h.pk for h in world.wanquanzhuang}
    assert AuditLog.objects.filter(entity="outreach.pairing", action="handover").exists()


def test_my_households_puts_what_is_due_first(paired, cast, time_machine):
    world = paired  # 赵明 holds the four households of 万全庄村
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(visited_at=at(14), promised="下周送棉被"),
    )
    visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.qian,
        data=visit_input(visited_at=at(14, 11)),
    )
    time_machine.move_to(at(20, 10), tick=False)
    order = [row.household.head_name for row in my_households(cast.paired)]
    # overdue 五必访, never visited, promised follow-up, visited.
    assert order == ["张三", "赵六", "王五", "钱七"]


# Supervision


def test_one_cadre_in_two_villages_within_ten_minutes_is_flagged(world, cast):
    first, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(visited_at=at(15, 9, 0)),
    )
    second, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.sun,
        data=visit_input(visited_at=at(15, 9, 6)),
    )
    _third, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.zhao,
        data=visit_input(visited_at=at(15, 9, 30)),
    )
    flagged = set(Flag.objects.filter(kind=FlagKind.AUTO).values_list("visit", flat=True))
    assert flagged == {first.pk, second.pk}
    assert "东张村" in Flag.objects.get(visit=first).reason


def test_a_supervisor_flags_a_visit_and_a_cadre_may_not(world, cast):
    visit, _ = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.wang, data=visit_input()
    )
    with pytest.raises(PermissionDenied):
        visit_flag(actor=cast.village, visit=visit, reason="照片重复")
    flag = visit_flag(actor=cast.supervisor, visit=visit, reason="照片重复")
    assert flag.kind == FlagKind.MANUAL and flag.flagged_by == cast.supervisor


# Editing, amendments, confirmation


def test_an_edited_promise_moves_the_households_open_promise(world, cast):
    """The phone page ranks a household with an open promise first; the promise is the latest
    visit's, so clearing it in that visit closes it, and an older visit's edit does not."""
    older, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(visited_at=at(14, 9), promised="下周送煤"),
    )
    latest, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(promised="帮忙修屋顶"),
    )

    def open_promise() -> bool:
        return Enrolment.objects.get(campaign=world.campaign, household=world.wang).promise_open

    assert open_promise()
    visit_update(actor=cast.paired, visit=latest, promised="")
    assert not open_promise()
    visit_update(actor=cast.paired, visit=older, promised="下周送煤两吨")
    assert not open_promise()
    visit_update(actor=cast.paired, visit=latest, promised="月底前修好屋顶")
    assert open_promise()


def test_the_author_edits_within_24_hours_then_only_amends(world, cast, time_machine):
    visit, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(found="漏雨"),
    )
    with pytest.raises(PermissionDenied):
        visit_update(actor=cast.village, visit=visit, found="改")
    visit_update(actor=cast.paired, visit=visit, found="屋顶漏雨，墙体开裂")
    assert Visit.objects.get().found == "屋顶漏雨，墙体开裂"
    time_machine.move_to(at(16, 10, 1), tick=False)
    with pytest.raises(ValidationError) as error:
        visit_update(actor=cast.paired, visit=visit, found="再改")
    assert "24 小时" in str(error.value)
    visit_amend(actor=cast.paired, visit=visit, text="补充：已联系村委会")
    visit_amend(actor=cast.paired, visit=visit, text="补充：已修好")
    assert list(Amendment.objects.values_list("text", flat=True)) == [
        "补充：已联系村委会",
        "补充：已修好",
    ]
    assert Visit.objects.get().found == "屋顶漏雨，墙体开裂"


def test_the_household_confirms_with_the_code_sent_to_its_phone(
    world, cast, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(hooks, "sms_sender", lambda phone, text: sent.append((phone, text)))
    visit, _ = visit_log(
        actor=cast.paired, campaign=world.campaign, household=world.zhang, data=visit_input()
    )
    with django_capture_on_commit_callbacks(execute=True):
        masked = visit_code_send(actor=cast.paired, visit=visit)
    assert masked == "138****5678"
    phone, text = sent[0]
    assert phone == ZHANG_PHONE
    code = text.split("验证码 ")[1][:6]
    with pytest.raises(ValidationError):
        visit_confirm(
            actor=cast.paired, visit=visit, code="000000" if code != "000000" else "111111"
        )
    visit_confirm(actor=cast.paired, visit=visit, code=code)
    visit.refresh_from_db()
    assert visit.confirmed_at is not None and visit.confirm_method == "code"
    assert ZHANG_PHONE not in str(list(AuditLog.objects.values_list("changes", flat=True)))


# Needs → cases


def test_a_need_takes_one_case(world, cast):
    visit, _ = visit_log(
        actor=cast.paired,
        campaign=world.campaign,
        household=world.wang,
        data=visit_input(needs=["修缮屋顶"]),
    )
    need = visit.needs.get()
    need_link_case(actor=cast.paired, need_id=need.pk, case_number="130681-2026-00001")
    assert Need.objects.get().case_number == "130681-2026-00001"
    with pytest.raises(ValidationError, match="该诉求已立案：130681-2026-00001"):
        need_link_case(actor=cast.admin, need_id=need.pk, case_number="130681-2026-00002")
    assert Need.objects.get().case_number == "130681-2026-00001"


def test_pairing_kinds_are_data(world, cast):
    assert {k.value for k in PairingKind} == {
        "leader_township",
        "department_village",
        "cadre_household",
        "cadre_compound",
    }


def test_the_refresh_command_recounts_counters_from_the_visits(world, cast):
    visit_log(actor=cast.paired, campaign=world.campaign, household=world.wang, data=visit_input())
    Tally.objects.filter(campaign=world.campaign, round=1, region=WANQUANZHUANG).update(
        households=9
    )  # gone wrong
    Enrolment.objects.filter(household=world.wang).update(visits=0)
    assert _total(world).rounds[0] == 9
    out = io.StringIO()

    call_command("campaigns_refresh", "--recount", stdout=out)

    assert "2026年暖冬行动：在册 6 户" in out.getvalue()
    assert _total(world).rounds == [1, 0, 0]
    assert Enrolment.objects.get(household=world.wang).visits == 1
    assert AuditLog.objects.filter(entity="outreach.campaign", action="recount").count() == 1
