import datetime
import json

import pytest
from django.test import Client

from minqing.accounts.services import token_create
from minqing.audit.models import AuditLog
from minqing.households.models import (
    Category,
    CategoryGrant,
    Household,
    Person,
    PersonStatus,
    Relation,
)
from minqing.households.services import category_grant
from minqing.households.tests.conftest import (
    LI_ID,
    LI_PHONE,
    LIU_ID,
    ZHANG_ID,
    ZHANG_PHONE,
    assert_no_personal_data,
)
from minqing.lib.idcard import make_id_number
from minqing.testing import SHUANGTA, WANQUANZHUANG, set_status

NOT_FOUND = "未找到该资源，或不在您的管辖范围内"
READ_ONLY = "您的角色只能查看，不能修改台账"


class Api:
    """A client with a user's token, which keeps every answer for the personal-data grep."""

    def __init__(self, user):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=user, name='脚本')[1]}"}
        self.bodies: list[bytes] = []

    def _keep(self, response):
        self.bodies.append(response.content)
        return response

    def get(self, path, params=None):
        return self._keep(self.client.get("/api" + path, params or {}, **self.headers))

    def send(self, method, path, body=None):
        call = getattr(self.client, method)
        return self._keep(
            call(
                "/api" + path,
                json.dumps(body or {}),
                content_type="application/json",
                **self.headers,
            )
        )

    def post(self, path, body=None):
        return self.send("post", path, body)

    def patch(self, path, body=None):
        return self.send("patch", path, body)

    def assert_never_saw_personal_data(self):
        for body in self.bodies:
            assert_no_personal_data(body)


@pytest.fixture
def api(cast):
    return lambda who: Api(getattr(cast, who))


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["items"]]


# The list


def test_list_gives_the_households_in_reach_with_their_columns(registry, api):
    village = api("village")

    response = village.get("/households")

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["items"] == [
        {
            "id": registry.zhang.pk,
            "region": WANQUANZHUANG,
            "region_name": "万全庄村",
            "address": "万全庄村东街8号",
            "head_id": registry.head.pk,
            "head_name": "张三",
            "member_count": 3,
            "grade": "C",
            "categories": [],
            "closed_on": None,
        }
    ]


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"q": "zs"}, ["zhang"]),
        ({"q": ZHANG_ID[-4:]}, ["zhang"]),
        ({"q": LI_PHONE[-4:]}, ["zhang"]),
        ({"q": LIU_ID}, ["liu"]),
        ({"category": "dibao", "on": "2026-03-01"}, ["liu"]),
        ({"category": "dibao", "on": "2026-01-10"}, ["zhang"]),
        ({"grade": "c"}, ["zhang"]),
        ({"members_min": "2"}, ["zhang"]),
        ({"region": SHUANGTA.ljust(12, "0")}, ["liu"]),
    ],
)
def test_list_filters_like_the_page(registry, api, params, found):
    response = api("admin").get("/households", params)

    assert response.status_code == 200
    assert _ids(response) == [getattr(registry, name).pk for name in found]


def test_list_pages_with_a_cursor(registry, api):
    admin = api("admin")

    first = admin.get("/households", {"limit": "1"}).json()
    second = admin.get("/households", {"limit": "1", "after": first["next"]}).json()

    assert [row["head_name"] for row in first["items"]] == ["刘芳"]
    assert [row["head_name"] for row in second["items"]] == ["张三"]
    assert second["next"] is None


def test_list_refuses_wrong_filters_with_a_message_per_field(registry, api):
    response = api("village").get(
        "/households",
        {"grade": "Z", "category": "petitioner", "members_max": "-1", "limit": "1000"},
    )

    assert response.status_code == 422
    fields = response.json()["fields"]
    assert fields["grade"] == ["危房等级“Z”不存在，应为 A、B、C 或 D"]
    assert fields["category"] == ["人员类别“petitioner”不存在"]
    assert "最多人口“-1”" in fields["members_max"][0]
    assert "每页条数" in fields["limit"][0]


def test_list_of_another_county_is_empty_and_its_region_refused(registry, api):
    village = api("village")

    assert _ids(village.get("/households", {"q": "张三"})) == [registry.zhang.pk]
    refused = village.get("/households", {"region": "131023103202"})
    assert refused.status_code == 422
    assert "不在您的管辖范围内" in refused.json()["detail"]


def test_list_refuses_other_methods(registry, api):
    assert api("admin").send("put", "/households").status_code == 405


def test_the_api_needs_credentials(registry, client):
    assert client.get("/api/households").status_code == 401
    assert client.get(f"/api/households/{registry.zhang.pk}").status_code == 401


def test_the_page_session_works_too(registry, cast, client_for):
    response = client_for(cast.village).get(f"/api/households/{registry.zhang.pk}")

    assert response.status_code == 200


# The detail


def test_detail_has_members_masked_categories_and_dwelling(registry, api):
    admin = api("admin")  # even a user who may see personal data gets masks here

    response = admin.get(f"/households/{registry.zhang.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["region_path"] == ["涿州市", "刁窝镇", "万全庄村"]
    assert [m["name"] for m in body["members"]] == ["张三", "李四", "张小明"]
    head = body["members"][0]
    assert head["id_number"] == ZHANG_ID[:6] + "********" + ZHANG_ID[-4:]
    assert head["phone"] == "138****5678"
    assert head["relation_label"] == "户主"
    assert head["birth_date"] == "1958-04-09"
    assert body["members"][2]["phone"] == ""
    assert [(c["category"], c["current"]) for c in body["categories"]] == [("dibao", False)]
    assert body["dwelling"]["grade"] == "C"
    assert body["dwelling"]["grade_label"] == "C级：局部危险，需维修加固"
    assert body["dwelling"]["assessments"][0]["appraiser"] == "涿州市房屋安全鉴定站"
    admin.assert_never_saw_personal_data()


@pytest.mark.parametrize(
    ("who", "whose"),
    [("village", "liu"), ("village", "other"), ("township", "zhang"), ("outsider", "zhang")],
)
def test_detail_out_of_reach_is_404(registry, api, who, whose):
    client = api(who)
    household = getattr(registry, whose)

    for path in [
        f"/households/{household.pk}",
        f"/households/{household.pk}/categories",
        f"/households/{household.pk}/dwelling",
        f"/people/{household.head_id}",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": NOT_FOUND}


def test_detail_refuses_delete(registry, api):
    admin = api("admin")

    assert admin.send("delete", f"/households/{registry.zhang.pk}").status_code == 405
    assert admin.send("delete", f"/people/{registry.li.pk}").status_code == 405


def test_sensitive_categories_only_for_users_with_the_permission(registry, api):
    category_grant(
        actor=None,
        category=Category.objects.get(code="disabled"),
        person=registry.li,
        start=datetime.date(2024, 5, 1),
        grade="二级",
    )
    path = f"/households/{registry.zhang.pk}/categories"

    admin = [c["category"] for c in api("admin").get(path).json()]
    village = [c["category"] for c in api("village").get(path).json()]
    catalogue = [c["code"] for c in api("village").get("/categories").json()]

    assert admin == ["disabled", "dibao"]
    assert village == ["dibao"]
    assert "disabled" not in catalogue and "petitioner" not in catalogue
    assert "petitioner" in [c["code"] for c in api("admin").get("/categories").json()]


# Writes


def _household_body(**overrides) -> dict:
    body = {
        "region": WANQUANZHUANG,
        "address": "万全庄村南街1号",
        "head": {
            "name": "赵大勇",
            "id_number": make_id_number("130681", datetime.date(1975, 3, 3), 71),
            "phone": "13600001234",
        },
        "members": [
            {
                "name": "钱小红",
                "id_number": make_id_number("130681", datetime.date(1977, 5, 5), 72),
                "relation": "spouse",
            }
        ],
    }
    body.update(overrides)
    return body


def test_create_a_household(registry, cast, api):
    village = api("village")

    response = village.post("/households", _household_body())

    assert response.status_code == 201
    body = response.json()
    assert body["head_name"] == "赵大勇"
    assert body["member_count"] == 2
    assert body["members"][0]["phone"] == "136****1234"
    household = Household.objects.get(pk=body["id"])
    assert household.head.phone == "13600001234"
    row = AuditLog.objects.get(entity="households.household", entity_id=str(household.pk))
    assert (row.actor, row.source) == (cast.village, "api")
    assert "13600001234" not in json.dumps(row.changes)
    for sent in ("13600001234", _household_body()["head"]["id_number"]):
        assert sent not in response.content.decode()


def test_create_refuses_a_bad_id_number_with_the_field(registry, api):
    body = _household_body()
    body["head"]["id_number"] = ZHANG_ID[:-1] + "1"

    response = api("village").post("/households", body)

    assert response.status_code == 422
    assert "校验位错误" in response.json()["fields"]["id_number"][0]
    assert not Household.objects.filter(address="万全庄村南街1号").exists()


def test_create_refuses_a_duplicate_person_without_showing_the_number(registry, api):
    body = _household_body()
    body["members"][0]["id_number"] = LI_ID

    response = api("admin").post("/households", body)

    assert response.status_code == 422
    assert "已登记在另一户" in response.json()["fields"]["id_number"][0]
    assert LI_ID not in response.content.decode()
    assert not Household.objects.filter(address="万全庄村南街1号").exists()


def test_create_is_refused_to_read_only_users_and_out_of_reach(registry, api):
    viewer = api("viewer").post("/households", _household_body())
    supervisor = api("supervisor").post("/households", _household_body())
    elsewhere = api("village").post("/households", _household_body(region="130681001001"))
    township = api("admin").post("/households", _household_body(region=SHUANGTA.ljust(12, "0")))
    unknown = api("admin").post("/households", _household_body(region="130681999999"))

    assert (viewer.status_code, viewer.json()["detail"]) == (403, READ_ONLY)
    assert supervisor.status_code == 403
    assert (elsewhere.status_code, elsewhere.json()["detail"]) == (404, NOT_FOUND)
    assert township.status_code == 422
    assert township.json()["fields"]["region"] == ["户必须属于一个现行的村（社区）"]
    assert unknown.status_code == 422
    assert Household.objects.count() == 3


def test_create_out_of_reach_is_404_whether_or_not_the_village_exists(registry, api):
    elsewhere = api("township").post("/households", _household_body(region=WANQUANZHUANG))
    nowhere = api("township").post("/households", _household_body(region="130681107999"))
    other_county = api("outsider").post("/households", _household_body(region=WANQUANZHUANG))
    read_only_elsewhere = api("viewer").post("/households", _household_body(region="131023103202"))

    for response in (elsewhere, nowhere, other_county, read_only_elsewhere):
        assert (response.status_code, response.json()["detail"]) == (404, NOT_FOUND)
    assert Household.objects.count() == 3


def test_a_refused_number_is_masked_in_the_message(registry, api):
    body = _household_body()
    typed = ZHANG_ID[:-1] + "1"
    body["head"]["id_number"] = typed

    response = api("village").post("/households", body)

    assert response.status_code == 422
    assert response.json()["fields"]["id_number"] == [
        f"身份证号“{typed[:6]}********{typed[-4:]}”校验位错误：末位应为 X"
    ]
    assert typed not in response.content.decode()


def test_a_malformed_field_is_refused_in_chinese_by_its_own_name(registry, api):
    response = api("admin").post(
        f"/people/{registry.ming.pk}/move", {"household_id": "刘芳", "on": "2026-13-01"}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "请求数据格式不正确：household_id、relation、on"
    assert body["fields"] == {
        "household_id": ["应为整数"],
        "relation": ["必须填写"],
        "on": ["应为日期，格式如 2026-06-15"],
    }
    assert body["errors"] == [
        "household_id：应为整数",
        "relation：必须填写",
        "on：应为日期，格式如 2026-06-15",
    ]
    assert "Input should" not in response.content.decode()
    assert "payload" not in response.content.decode()


def test_a_malformed_nested_field_is_named_by_its_path(registry, api):
    body = _household_body()
    body["head"]["birth_date"] = "去年"
    body["members"][0]["name"] = 5

    response = api("village").post("/households", body)

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "head.birth_date": ["应为日期，格式如 2026-06-15"],
        "members.0.name": ["应为文字"],
    }


def test_create_with_a_malformed_body_is_422_in_chinese(registry, api):
    response = api("village").post("/households", {"region": WANQUANZHUANG})

    assert response.status_code == 422
    assert response.json()["detail"].startswith("请求数据格式不正确：")
    assert "head" in response.json()["detail"]


def test_update_the_address(registry, api):
    response = api("village").patch(
        f"/households/{registry.zhang.pk}", {"address": "万全庄村东街10号"}
    )

    assert response.status_code == 200
    assert response.json()["address"] == "万全庄村东街10号"
    assert AuditLog.objects.filter(entity="households.household", action="update").exists()


def test_update_is_403_for_read_only_and_404_out_of_reach(registry, api):
    path = f"/households/{registry.zhang.pk}"

    assert api("viewer").patch(path, {"address": "x"}).status_code == 403
    assert api("township").patch(path, {"address": "x"}).status_code == 404
    assert api("outsider").patch(path, {"address": "x"}).status_code == 404
    registry.zhang.refresh_from_db()
    assert registry.zhang.address == "万全庄村东街8号"


def test_add_a_person_to_a_household(registry, api):
    path = f"/households/{registry.zhang.pk}/people"
    body = {
        "name": "张丽",
        "id_number": make_id_number("130681", datetime.date(2012, 8, 8), 82),
        "relation": "grandchild",
        "phone": "",
    }

    response = api("village").post(path, body)
    second_head = api("village").post(
        path,
        body
        | {
            "relation": "head",
            "id_number": make_id_number("130681", datetime.date(2012, 8, 9), 82),
        },
    )

    assert response.status_code == 201
    assert response.json()["sex"] == "F"
    assert response.json()["household_id"] == registry.zhang.pk
    assert second_head.status_code == 422
    assert second_head.json()["fields"] == {"relation": ["该户已有户主"]}
    assert api("viewer").post(path, body).status_code == 403
    assert api("township").post(path, body).status_code == 404


def test_person_detail_is_masked(registry, api):
    response = api("admin").get(f"/people/{registry.li.pk}")

    assert response.status_code == 200
    assert response.json()["id_number"] == LI_ID[:6] + "********" + LI_ID[-4:]
    assert response.json()["phone"] == "139****4321"


def test_update_a_person_changes_only_what_is_given(registry, api):
    village = api("village")
    path = f"/people/{registry.li.pk}"

    away = village.patch(path, {"status": "away"})
    no_phone = village.patch(path, {"phone": ""})
    bad = village.patch(path, {"id_number": "123"})

    assert away.status_code == 200 and away.json()["status"] == "away"
    assert no_phone.json()["phone"] == ""
    registry.li.refresh_from_db()
    assert (registry.li.name, registry.li.id_number, registry.li.phone) == ("李四", LI_ID, "")
    assert bad.status_code == 422
    assert "身份证号应为18位" in bad.json()["fields"]["id_number"][0]
    assert api("viewer").patch(path, {"status": "away"}).status_code == 403
    assert api("township").patch(path, {"status": "away"}).status_code == 404


def test_move_a_person(registry, api):
    response = api("admin").post(
        f"/people/{registry.ming.pk}/move",
        {"household_id": registry.liu.pk, "relation": "other", "reason": "租住"},
    )

    assert response.status_code == 200
    assert response.json()["household_id"] == registry.liu.pk
    assert response.json()["region"] == "130681001001"
    refused = api("village").post(
        f"/people/{registry.li.pk}/move", {"household_id": registry.liu.pk, "relation": "other"}
    )
    assert refused.status_code == 404
    bad = api("admin").post(
        f"/people/{registry.li.pk}/move", {"household_id": registry.liu.pk, "relation": "cousin"}
    )
    assert bad.status_code == 422
    assert bad.json()["fields"] == {"relation": ["与户主关系“cousin”不是可选值"]}
    assert (
        api("viewer")
        .post(
            f"/people/{registry.li.pk}/move", {"household_id": registry.liu.pk, "relation": "other"}
        )
        .status_code
        == 403
    )


@pytest.mark.parametrize(
    ("on", "message"),
    [
        ("2027-06-01", "迁移日期 2027-06-01 晚于今天"),
        ("2005-01-01", "迁移日期 2005-01-01 早于张小明在现户的迁入日期 2020-01-01"),
    ],
)
def test_a_move_with_an_impossible_date_is_refused_on_the_date_field(registry, api, on, message):
    response = api("admin").post(
        f"/people/{registry.ming.pk}/move",
        {"household_id": registry.liu.pk, "relation": "other", "on": on},
    )

    assert response.status_code == 422
    assert response.json()["fields"] == {"on": [message]}
    assert Person.objects.get(pk=registry.ming.pk).household_id == registry.zhang.pk


def test_moving_the_head_can_name_the_households_new_head(registry, api):
    response = api("admin").post(
        f"/people/{registry.head.pk}/move",
        {"household_id": registry.liu.pk, "relation": "spouse", "successor_id": registry.li.pk},
    )
    stranger = api("admin").post(
        f"/people/{registry.ming.pk}/move",
        {
            "household_id": registry.liu.pk,
            "relation": "other",
            "successor_id": registry.liu.head_id,
        },
    )

    assert response.status_code == 200
    zhang = api("admin").get(f"/households/{registry.zhang.pk}").json()
    assert (zhang["head_id"], zhang["head_name"]) == (registry.li.pk, "李四")
    assert stranger.status_code == 422
    assert stranger.json()["fields"] == {"successor_id": ["该人员不是原户成员"]}


def test_moving_the_head_takes_the_members_relations_to_the_new_head(registry, api):
    path = f"/people/{registry.head.pk}/move"
    body = {"household_id": registry.liu.pk, "relation": "spouse", "successor_id": registry.ming.pk}

    wrong = api("admin").post(
        path, body | {"relations": [{"person_id": registry.li.pk, "relation": "head"}]}
    )
    response = api("admin").post(
        path, body | {"relations": [{"person_id": registry.li.pk, "relation": "other"}]}
    )

    assert wrong.status_code == 422
    assert wrong.json()["fields"] == {"relations.0": ["一户只能有一位户主"]}
    assert response.status_code == 200
    zhang = api("admin").get(f"/households/{registry.zhang.pk}").json()
    relations = {m["name"]: m["relation"] for m in zhang["members"]}
    assert relations == {"张小明": "head", "李四": "other"}


def test_a_head_change_through_the_api_takes_a_deceased_members_relation(registry, api):
    set_status(registry.li, PersonStatus.DECEASED)

    response = api("village").post(
        f"/households/{registry.zhang.pk}/head",
        {
            "person_id": registry.ming.pk,
            "old_head_relation": "parent",
            "relations": [{"person_id": registry.li.pk, "relation": "parent"}],
        },
    )

    assert response.status_code == 200, response.content
    relations = {m["name"]: m["relation"] for m in response.json()["members"]}
    assert relations == {"张小明": "head", "张三": "parent", "李四": "parent"}


def test_change_the_head_through_the_api(registry, cast, api):
    path = f"/households/{registry.zhang.pk}/head"
    body = {"person_id": registry.ming.pk, "old_head_relation": "parent", "on": "2026-06-10"}

    out = api("township").post(path, body)
    read_only = api("viewer").post(path, body)
    stranger = api("village").post(path, body | {"person_id": registry.liu.head_id})
    no_relation = api("village").post(path, body | {"old_head_relation": ""})
    response = api("village").post(path, body)
    again = api("village").post(path, body)

    assert out.status_code == 404
    assert (read_only.status_code, read_only.json()["detail"]) == (403, READ_ONLY)
    assert stranger.json()["fields"] == {"person_id": ["该人员不是本户成员"]}
    assert no_relation.json()["fields"] == {"old_head_relation": ["请选择原户主张三与新户主的关系"]}
    assert response.status_code == 200
    body = response.json()
    assert (body["head_id"], body["head_name"]) == (registry.ming.pk, "张小明")
    relations = {m["name"]: m["relation"] for m in body["members"]}
    assert relations == {"张小明": "head", "张三": "parent", "李四": "parent"}  # his mother
    assert again.json()["fields"] == {"person_id": ["张小明 已是户主"]}
    row = AuditLog.objects.get(action="head_change")
    assert (row.actor, row.source) == (cast.village, "api")


def test_a_head_change_through_the_api_takes_the_members_relations(registry, api):
    path = f"/households/{registry.zhang.pk}/head"
    body = {"person_id": registry.ming.pk, "old_head_relation": "parent"}

    response = api("village").post(
        path, body | {"relations": [{"person_id": registry.li.pk, "relation": "other"}]}
    )

    assert response.status_code == 200
    relations = {m["name"]: m["relation"] for m in response.json()["members"]}
    assert relations == {"张小明": "head", "张三": "parent", "李四": "other"}
    row = AuditLog.objects.get(action="head_change")
    assert row.changes["relations"][1] == [{"name": "李四", "relation": "other"}]


@pytest.mark.parametrize(
    ("given", "field", "message"),
    [
        ([("liu_head", "other")], "relations.0", "该人员不是本户成员"),
        ([("li", "head")], "relations.0", "一户只能有一位户主"),
        ([("li", "cousin")], "relations.0", "与户主关系“cousin”不是可选值"),
        ([("li", "parent"), ("ming", "other")], "relations.1", "张小明 是新户主"),
        ([("li", "parent"), ("li", "other")], "relations.1.person_id", "该人员已在前面列出"),
    ],
)
def test_a_head_change_through_the_api_refuses_a_members_relation(
    registry, api, given, field, message
):
    people = {"li": registry.li.pk, "ming": registry.ming.pk, "liu_head": registry.liu.head_id}

    response = api("village").post(
        f"/households/{registry.zhang.pk}/head",
        {
            "person_id": registry.ming.pk,
            "old_head_relation": "parent",
            "relations": [{"person_id": people[who], "relation": r} for who, r in given],
        },
    )

    assert response.status_code == 422
    assert response.json()["fields"] == {field: [message]}
    assert Household.objects.get(pk=registry.zhang.pk).head_name == "张三"


def test_grant_and_end_a_category(registry, cast, api):
    township = api("township")

    granted = township.post(
        f"/households/{registry.liu.pk}/categories",
        {"category": "disaster_hit", "start": "2026-06-01", "document": "涿应急〔2026〕8号"},
    )
    grant_id = granted.json()["id"]
    ended = township.post(f"/grants/{grant_id}/end", {"end": "2026-06-10", "reason": "已恢复"})
    again = township.post(f"/grants/{grant_id}/end", {"end": "2026-06-11"})

    assert granted.status_code == 201
    assert granted.json()["category_name"] == "受灾户"
    assert granted.json()["current"] is True
    assert ended.status_code == 200
    assert (ended.json()["end"], ended.json()["current"]) == ("2026-06-10", False)
    assert again.status_code == 422
    assert again.json()["fields"] == {"end": ["该认定已经终止"]}
    actions = AuditLog.objects.filter(entity="households.categorygrant", entity_id=str(grant_id))
    assert sorted(actions.values_list("action", flat=True)) == ["end", "grant"]


def test_grant_to_a_member_with_grade(registry, api):
    response = api("admin").post(
        f"/households/{registry.zhang.pk}/categories",
        {
            "category": "disabled",
            "person_id": registry.li.pk,
            "start": "2024-05-01",
            "grade": "二级",
        },
    )
    stranger = api("admin").post(
        f"/households/{registry.zhang.pk}/categories",
        {"category": "elderly_alone", "person_id": registry.liu.head_id, "start": "2024-05-01"},
    )

    assert response.status_code == 201
    assert (response.json()["person_name"], response.json()["grade"]) == ("李四", "二级")
    assert stranger.status_code == 422
    assert stranger.json()["fields"] == {"person_id": ["该人员不是本户成员"]}


def test_grant_refusals(registry, api):
    path = f"/households/{registry.zhang.pk}/categories"

    scope = api("admin").post(path, {"category": "disabled", "start": "2026-01-01"})
    sensitive = api("village").post(path, {"category": "petitioner", "start": "2026-01-01"})
    read_only = api("viewer").post(path, {"category": "dibao", "start": "2026-06-01"})
    out = api("township").post(path, {"category": "dibao", "start": "2026-06-01"})

    graded = api("admin").post(path, {"category": "dibao", "start": "2026-05-01", "grade": "二级"})

    assert scope.json()["fields"] == {"category": ["“残疾”是人员类别，应认定给人"]}
    assert graded.json()["fields"] == {"grade": ["“低保”不分等级，请不要填写等级"]}
    assert sensitive.status_code == 422
    assert read_only.status_code == 403
    assert out.status_code == 404
    assert CategoryGrant.objects.count() == 2


def test_ending_a_grant_out_of_reach_or_sensitive_is_404(registry, api):
    liu_grant = registry.liu.categories.get()
    petition = category_grant(
        actor=None,
        category=Category.objects.get(code="petitioner"),
        household=registry.zhang,
        start=datetime.date(2026, 3, 1),
    )

    assert (
        api("village").post(f"/grants/{liu_grant.pk}/end", {"end": "2026-06-01"}).status_code == 404
    )
    assert (
        api("village").post(f"/grants/{petition.pk}/end", {"end": "2026-06-01"}).status_code == 404
    )
    assert (
        api("viewer").post(f"/grants/{liu_grant.pk}/end", {"end": "2026-06-01"}).status_code == 403
    )
    assert api("admin").get(f"/grants/{liu_grant.pk}/end").status_code == 405


def test_record_a_dwelling_assessment(registry, cast, api):
    path = f"/households/{registry.zhang.pk}/dwelling/assessments"

    response = api("village").post(
        path,
        {"grade": "D", "assessed_on": "2026-06-10", "cause": "flood", "ground_floor_flooded": True},
    )
    bad = api("village").post(path, {"grade": "E", "assessed_on": "2026-06-10"})
    future = api("village").post(path, {"grade": "A", "assessed_on": "2026-07-10"})

    assert response.status_code == 201
    assert response.json()["grade"] == "D"
    assert [a["grade"] for a in response.json()["assessments"]] == ["D", "C"]
    assert response.json()["assessments"][0]["recorded_by"] == "陈立军"
    assert bad.json()["fields"] == {"grade": ["危房等级“E”不存在，应为 A、B、C 或 D"]}
    assert future.status_code == 422
    assert api("viewer").post(path, {"grade": "A", "assessed_on": "2026-06-10"}).status_code == 403
    assert (
        api("township").post(path, {"grade": "A", "assessed_on": "2026-06-10"}).status_code == 404
    )


# Personal data


def test_reveal_gives_the_full_values_with_an_audit_row(registry, cast, api):
    response = api("admin").post(f"/people/{registry.head.pk}/reveal")

    assert response.status_code == 200
    assert response.json() == {"id_number": ZHANG_ID, "phone": ZHANG_PHONE}
    assert "no-store" in response["Cache-Control"]
    row = AuditLog.objects.get(action="view_personal")
    assert (row.actor, row.entity_id, row.source) == (cast.admin, str(registry.head.pk), "api")


def test_reveal_is_403_without_the_permission_and_404_out_of_reach(registry, api):
    path = f"/people/{registry.head.pk}/reveal"

    for who in ("village", "township", "viewer", "supervisor", "dept"):
        client = api(who)
        response = client.post(path)
        assert response.status_code == (404 if who == "township" else 403), who
        client.assert_never_saw_personal_data()
    assert api("outsider").post(path).status_code == 404
    assert api("admin").get(path).status_code == 405
    assert not AuditLog.objects.filter(action="view_personal").exists()


def test_a_user_without_the_permission_never_receives_a_full_number(registry, cast, api):
    """Every read and every write answer, for each role without the personal-data
    permission, grepped for the registry's whole ID numbers and phones."""
    for who in ("village", "paired", "township", "dept", "viewer", "supervisor"):
        client = api(who)
        for path in [
            "/households",
            "/households?q=zs",
            f"/households?q={ZHANG_ID}",
            f"/households/{registry.zhang.pk}",
            f"/households/{registry.liu.pk}",
            f"/households/{registry.zhang.pk}/categories",
            f"/people/{registry.head.pk}",
            f"/people/{registry.li.pk}",
            f"/people/{registry.liu.head_id}",
            "/categories",
        ]:
            client.get(path)
        client.patch(f"/people/{registry.li.pk}", {"status": "away"})
        client.patch(f"/people/{registry.li.pk}", {"status": "resident"})
        client.post(f"/people/{registry.head.pk}/reveal")
        assert len(client.bodies) == 13
        client.assert_never_saw_personal_data()
    assert Person.objects.get(pk=registry.li.pk).relation == Relation.SPOUSE


def test_dwelling_and_the_category_catalogue(registry, api):
    admin = api("admin")

    dwelling = admin.get(f"/households/{registry.zhang.pk}/dwelling")
    catalogue = admin.get("/categories").json()

    assert dwelling.status_code == 200
    assert (dwelling.json()["grade"], dwelling.json()["cause"]) == ("C", "flood")
    assert dwelling.json()["ground_floor_flooded"] is True
    assert catalogue[0] == {
        "code": "dibao",
        "name": "低保",
        "scope": "household",
        "has_grade": False,
        "must_visit": False,
        "sensitive": False,
    }


def test_the_registry_is_in_the_api_docs(db, client):
    paths = client.get("/api/openapi.json").json()["paths"]

    for path in [
        "/api/households",
        "/api/households/{household_id}",
        "/api/households/{household_id}/people",
        "/api/households/{household_id}/categories",
        "/api/households/{household_id}/dwelling/assessments",
        "/api/people/{person_id}",
        "/api/people/{person_id}/reveal",
        "/api/categories",
        "/api/grants/{grant_id}/end",
    ]:
        assert path in paths, path
