"""The outreach API: same scope and rules as the pages; offline batches are idempotent."""

import json

import pytest
from django.db import connection
from django.test import Client

from minqing.accounts.services import token_create
from minqing.outreach.models import Enrolment, Need, Pairing, Visit
from minqing.outreach.selectors import coverage
from minqing.outreach.tests.conftest import _household
from minqing.testing import DIAOWO, WANQUANZHUANG


def api(user) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token_create(user=user, name='手机')[1]}"
    return client


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def _entry(world, household, client_id, minute=0, **extra):
    return {
        "client_id": client_id,
        "campaign_id": world.campaign.pk,
        "household_id": household.pk,
        "visited_at": f"2026-06-15T08:{minute:02d}:00+08:00",
        "aspects": ["生活"],
        **extra,
    }


def test_the_same_offline_batch_posted_twice_creates_each_visit_once(world, cast):
    client = api(cast.paired)
    batch = {
        "visits": [
            _entry(world, world.zhang, "p1-1", 0, needs=["修缮屋顶"]),
            _entry(world, world.wang, "p1-2", 20),
            _entry(world, world.zhao, "p1-3", 40),
        ]
    }
    first = post(client, "/api/outreach/visits/batch", batch).json()
    assert (first["created"], first["duplicates"], first["refused"]) == (3, 0, 0)
    again = post(client, "/api/outreach/visits/batch", batch).json()
    assert (again["created"], again["duplicates"], again["refused"]) == (0, 3, 0)
    assert [i["id"] for i in again["items"]] == [i["id"] for i in first["items"]]
    assert Visit.objects.count() == 3 and Need.objects.count() == 1
    total = coverage(world.campaign, "130681")[""]
    assert total.rounds[0] == 3 and total.visits == 3


def test_a_bad_entry_in_a_batch_is_refused_alone(world, cast):
    batch = {
        "visits": [
            _entry(world, world.wang, "p2-1"),
            _entry(world, world.liu, "p2-2"),  # 双塔街道: out of 赵明's reach
            _entry(world, world.zhao, "p2-3", aspects=["打牌"]),
        ]
    }
    result = post(api(cast.paired), "/api/outreach/visits/batch", batch).json()
    assert [i["status"] for i in result["items"]] == ["created", "refused", "refused"]
    assert "不在您的管辖范围内" in result["items"][1]["error"]
    assert "打牌" in result["items"][2]["error"]
    assert Visit.objects.count() == 1


def test_a_batch_entry_without_client_id_is_refused_in_chinese(world, cast):
    response = post(
        api(cast.paired), "/api/outreach/visits/batch", {"visits": [_entry(world, world.wang, "")]}
    )
    assert response.status_code == 422
    assert "client_id" in response.json()["detail"]


def test_posting_one_visit_and_reading_it_back(world, cast):
    client = api(cast.paired)
    response = post(
        client, "/api/outreach/visits", _entry(world, world.wang, "one-1", found="漏雨")
    )
    assert response.status_code == 201
    body = response.json()
    assert body["round"] == 1 and body["found"] == "漏雨"
    again = post(client, "/api/outreach/visits", _entry(world, world.wang, "one-1"))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    detail = client.get(f"/api/outreach/visits/{body['id']}").json()
    assert detail["author_name"] == "赵明"
    listing = client.get(f"/api/outreach/visits?household={world.wang.pk}").json()
    assert [v["id"] for v in listing["items"]] == [body["id"]]


def test_a_malformed_visit_is_refused_naming_its_fields(world, cast):
    entry = _entry(world, world.wang, "x" * 65)
    del entry["visited_at"]
    response = post(api(cast.paired), "/api/outreach/visits", entry)
    assert response.status_code == 422
    assert response.json()["detail"] == "请求数据格式不正确：client_id、visited_at"
    assert not Visit.objects.exists()


def test_a_posted_visit_answers_with_every_field_in_its_json_type(world, cast):
    entry = _entry(
        world, world.wang, "json-1", 5, latitude=39.48, longitude=115.97, needs=["修屋顶"]
    )
    body = post(api(cast.paired), "/api/outreach/visits", entry).json()
    need = Need.objects.get(visit_id=body["id"])
    assert body == {
        "id": body["id"],
        "client_id": "json-1",
        "campaign_id": world.campaign.pk,
        "household_id": world.wang.pk,
        "region": WANQUANZHUANG,
        "author_id": cast.paired.pk,
        "author_name": "赵明",
        "visited_at": "2026-06-15T08:05:00+08:00",
        "round": 1,
        "address": "万全庄村东街10号",
        "latitude": 39.48,
        "longitude": 115.97,
        "aspects": ["生活"],
        "family": "",
        "thinking": "",
        "difficulty": "",
        "help_needed": "",
        "found": "",
        "promised": "",
        "needs": [{"id": need.pk, "text": "修屋顶", "case_number": ""}],
        "confirmed_at": None,
        "flagged": False,
    }


def test_posting_one_visit_takes_a_fixed_number_of_statements(
    world, cast, django_assert_num_queries
):
    """Token; the campaign, the household and its enrolment, locked, with the earlier visits
    (same client id or an impossible trip); the visit; the bookkeeping (enrolment, three
    tallies, audit row: one statement on PostgreSQL, five on SQLite); the needs; plus the
    savepoint pair of the test's transaction."""
    client = api(cast.paired)
    post(client, "/api/outreach/visits", _entry(world, world.wang, "warm-up"))  # counters exist
    with django_assert_num_queries(7 if connection.vendor == "postgresql" else 11):
        response = post(
            client,
            "/api/outreach/visits",
            _entry(world, world.wang, "counted", 30, needs=["修屋顶"]),
        )
    assert response.status_code == 201
    assert [n["text"] for n in response.json()["needs"]] == ["修屋顶"]
    assert Need.objects.filter(visit_id=response.json()["id"], text="修屋顶").count() == 1


def test_a_visit_flagged_as_impossible_says_so_in_its_answer(world, cast):
    """Two villages four minutes apart: the second post's answer is flagged, as the visit page
    shows it, and so is the first visit when it is asked for again."""
    client = api(cast.paired)
    first = post(client, "/api/outreach/visits", _entry(world, world.wang, "trip-1", 0))
    assert first.status_code == 201 and first.json()["flagged"] is False
    second = post(client, "/api/outreach/visits", _entry(world, world.sun, "trip-2", 4))
    assert second.status_code == 201 and second.json()["flagged"] is True
    again = post(client, "/api/outreach/visits", _entry(world, world.wang, "trip-1", 0))
    assert again.status_code == 200 and again.json()["flagged"] is True
    detail = client.get(f"/api/outreach/visits/{second.json()['id']}")
    assert detail.json()["flagged"] is True


def test_a_household_not_enrolled_is_enrolled_when_visited(world, cast):
    """A household registered now is enrolled at once (households.hooks); one that is not (its
    enrolment lost, or registered before the campaigns followed the registry) is enrolled by
    its first visit."""
    li = _household(WANQUANZHUANG, "李十", "万全庄村东街12号", 8)
    Enrolment.objects.filter(campaign=world.campaign, household=li).delete()
    response = post(api(cast.paired), "/api/outreach/visits", _entry(world, li, "late-1"))
    assert response.status_code == 201 and response.json()["round"] == 1
    enrolment = Enrolment.objects.get(campaign=world.campaign, household=li)
    assert enrolment.visits == 1
    assert coverage(world.campaign, WANQUANZHUANG)[""].visits == 1


def test_posting_to_a_household_or_campaign_out_of_reach_is_404_and_writes_nothing(world, cast):
    entry = _entry(world, world.wang, "far-1")
    assert post(api(cast.outsider), "/api/outreach/visits", entry).status_code == 404
    # 双塔街道's officer: the county's campaign is within reach, 刁窝镇's household is not.
    assert post(api(cast.township), "/api/outreach/visits", entry).status_code == 404
    missing = {**entry, "household_id": world.wang.pk + 10_000}
    assert post(api(cast.paired), "/api/outreach/visits", missing).status_code == 404
    missing = {**entry, "campaign_id": world.campaign.pk + 10_000}
    assert post(api(cast.paired), "/api/outreach/visits", missing).status_code == 404
    assert not Visit.objects.exists()


def test_a_viewer_cannot_post_visits(world, cast):
    response = post(api(cast.viewer), "/api/outreach/visits", _entry(world, world.wang, "v-1"))
    assert response.status_code == 403
    assert "只能查看" in response.json()["detail"]
    assert not Visit.objects.exists()


def test_visits_out_of_reach_are_404(world, cast):
    visit_id = post(
        api(cast.paired), "/api/outreach/visits", _entry(world, world.wang, "x")
    ).json()["id"]
    assert api(cast.township).get(f"/api/outreach/visits/{visit_id}").status_code == 404
    assert api(cast.outsider).get(f"/api/outreach/campaigns/{world.campaign.pk}").status_code == 404


def test_coverage_and_gaps_through_the_api(world, cast, time_machine):
    from minqing.outreach.tests.conftest import at

    client = api(cast.admin)
    assert (
        post(
            client,
            f"/api/outreach/campaigns/{world.campaign.pk}/pairings",
            {
                "household_ids": [world.zhang.pk],
                "cadre_ids": [cast.paired.pk],
                "start": "2026-06-01",
            },
        ).status_code
        == 201
    )
    coverage_body = client.get(f"/api/outreach/campaigns/{world.campaign.pk}/coverage").json()
    assert coverage_body["total"]["households"] == 6
    assert {row["name"] for row in coverage_body["below"]} == {"刁窝镇", "双塔街道"}
    village = client.get(
        f"/api/outreach/campaigns/{world.campaign.pk}/coverage?region={DIAOWO}"
    ).json()
    assert {row["name"] for row in village["below"]} == {"万全庄村", "东张村"}
    time_machine.move_to(at(20, 10), tick=False)
    for region in ("130681", DIAOWO, WANQUANZHUANG):
        gaps = client.get(
            f"/api/outreach/campaigns/{world.campaign.pk}/gaps?region={region}"
        ).json()
        assert [(g["head_name"], g["cadre_name"]) for g in gaps["items"]] == [("张三", "赵明")]


def test_spreading_and_handover_through_the_api(world, cast):
    client = api(cast.admin)
    response = post(
        client,
        f"/api/outreach/campaigns/{world.campaign.pk}/pairings",
        {
            "household_ids": [h.pk for h in world.wanquanzhuang],
            "cadre_ids": [cast.paired.pk, cast.village.pk],
            "start": "2026-06-01",
        },
    )
    assert response.json()["shares"] == {str(cast.paired.pk): 2, str(cast.village.pk): 2}
    response = post(
        client,
        f"/api/outreach/campaigns/{world.campaign.pk}/handover",
        {
            "cadre_id": cast.paired.pk,
            "successor_ids": [cast.village.pk],
            "on": "2026-06-10",
            "reason": "调离",
        },
    )
    assert response.status_code == 200
    assert Pairing.objects.filter(end__isnull=True, cadre=cast.village).count() == 4
    pairings = client.get(
        f"/api/outreach/campaigns/{world.campaign.pk}/pairings?cadre={cast.paired.pk}"
    ).json()
    assert len(pairings["items"]) == 2 and all(p["end"] == "2026-06-10" for p in pairings["items"])


def test_creating_a_campaign_through_the_api(world, cast):
    response = post(
        api(cast.admin),
        "/api/outreach/campaigns",
        {
            "name": "灾后重建走访",
            "kind": "post_disaster",
            "start": "2026-06-01",
            "end": "2026-12-31",
            "regions": [DIAOWO],
            "rounds": 3,
            "must_visit": [{"category": "tekun", "every_days": 30}],
        },
    )
    assert response.status_code == 201
    assert response.json()["aspects"] == ["生活", "生产", "政策落实", "发展规划"]
    refused = post(
        api(cast.township),
        "/api/outreach/campaigns",
        {"name": "x", "start": "2026-06-01", "end": "2026-06-02", "regions": [DIAOWO]},
    )
    assert refused.status_code == 422
    assert "不在您的管辖范围内" in refused.json()["detail"]


@pytest.mark.parametrize("method", ["put", "delete"])
def test_wrong_methods_on_visits(world, cast, method):
    response = getattr(api(cast.admin), method)("/api/outreach/visits")
    assert response.status_code == 405
