import io
import json

from django.test import Client
from pypdf import PdfReader

from minqing.accounts.services import token_create
from minqing.relief.models import Payment, RuleSet
from minqing.relief.tests.test_rebuild_and_hazards import _site

from .conftest import approved_list


class Api:
    def __init__(self, user):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {token_create(user=user, name='脚本')[1]}"}

    def get(self, path, params=None):
        return self.client.get("/api/relief" + path, params or {}, **self.headers)

    def post(self, path, body=None, method="post"):
        return getattr(self.client, method)(
            "/api/relief" + path,
            json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
        )


def test_programmes_rules_preview_and_lists_over_the_api(cast, village):
    api = Api(cast.admin)
    [programme] = api.get("/programmes").json()
    assert programme["version"] == 1 and programme["lines"][0]["description"] == "危房等级 D"
    lines = [
        {
            "code": "d",
            "label": "D级 钢筋",
            "kind": "material",
            "condition": {"grades": ["D"]},
            "material": "钢筋",
            "quantity": "3",
        },
        {
            "code": "hit",
            "label": "受灾",
            "kind": "cash",
            "condition": {"categories": ["disaster_hit"]},
            "amount_fen": 50000,
        },
    ]
    preview = api.post(
        f"/programmes/{village.flood.pk}/preview", {"match": "first", "lines": lines}
    ).json()
    assert [(p["code"], p["households"]) for p in preview] == [("d", 1), ("hit", 2)]
    bad = api.post(
        f"/programmes/{village.flood.pk}/rules", {"lines": [lines[0] | {"material": "水泥"}]}
    )
    assert bad.status_code == 422 and bad.json()["detail"] == "第 1 条规则：物资“水泥”不存在"
    saved = api.post(
        f"/programmes/{village.flood.pk}/rules", {"match": "first", "lines": lines, "note": "简化"}
    )
    assert saved.status_code == 201 and saved.json()["version"] == 2
    cycle = village.flood.cycles.get()
    created = api.post(f"/programmes/{village.flood.pk}/lists", {"cycle_id": cycle.pk})
    assert created.status_code == 201
    body = created.json()
    assert body["version"] == 2 and [(x["code"], x["households"]) for x in body["lines"]] == [
        ("d", 1),
        ("hit", 2),
    ]
    moved = api.post(f"/lists/{body['id']}/transition", {"to": "reviewed"})
    assert moved.json()["status"] == "reviewed"
    refused = api.post(f"/lists/{body['id']}/transition", {"to": "approved"})
    assert refused.status_code == 422 and "不能改为“已批准”" in refused.json()["detail"]
    rows = api.get(f"/lists/{body['id']}/entitlements").json()["items"]
    assert {r["head_name"] for r in rows} == {"王大山", "李二河", "赵小桥"}


def test_read_only_and_out_of_reach_over_the_api(cast, village):
    assert (
        Api(cast.viewer).post(f"/programmes/{village.flood.pk}/rules", {"lines": []}).status_code
        == 403
    )
    assert Api(cast.outsider).get(f"/programmes/{village.flood.pk}").status_code == 404
    assert Api(cast.outsider).get("/programmes").json() == []


def test_a_second_handover_answers_409_with_who_and_when(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    cash = entitlement_list.entitlements.get(household=village.c, line__code="winter_cash")
    first = Api(cast.village).post(
        f"/entitlements/{cash.pk}/handover", {"receiver": "李二河", "proof": "signature"}
    )
    assert first.status_code == 201 and first.json()["paid_by"] == "陈立军"
    second = Api(cast.admin).post(
        f"/entitlements/{cash.pk}/handover", {"receiver": "李二河", "proof": "signature"}
    )
    assert second.status_code == 409
    assert second.json()["paid_by"] == "陈立军" and "不能重复发放" in second.json()["detail"]
    received = Api(cast.village).get(f"/households/{village.c.pk}/received").json()
    assert [(r["programme"], r["line"], r["version"]) for r in received] == [
        ("涿州市洪灾救助", "受灾户过冬补助1000元", 1)
    ]
    assert Payment.objects.count() == 1
    assert (
        Api(cast.township)
        .post(f"/entitlements/{cash.pk}/handover", {"receiver": "x", "proof": "signature"})
        .status_code
        == 404
    )


def test_stock_rebuild_and_hazard_sites_over_the_api(cast, village):
    api = Api(cast.admin)
    short = api.post(
        "/stock/counts",
        {"depot_id": village.depot.pk, "material": "沙子", "quantity": "90", "note": ""},
    )
    assert short.status_code == 422 and "请填写差异原因" in short.json()["detail"]
    counted = api.post(
        "/stock/counts",
        {"depot_id": village.depot.pk, "material": "沙子", "quantity": "90", "note": "雨淋流失"},
    )
    assert {(b["material"], b["quantity"]) for b in counted.json()} == {
        ("沙子", "90.000"),
        ("钢筋", "10.000"),
    }
    project = api.post(
        "/projects", {"household_id": village.d.pk, "kind": "rebuild_elsewhere"}
    ).json()
    api.post(f"/projects/{project['id']}/milestones", {"stage": "accepted", "on": "2026-06-01"})
    [rate] = api.get("/rebuild/rates").json()
    assert (rate["name"], rate["rate"], rate["finished"]) == ("刁窝镇", 100.0, True)
    site = _site(cast, village)
    sites = api.get("/hazard-sites").json()
    assert sites[0]["monitor_name"] == "陈监测" and sites[0]["household_ids"] == sorted(
        [village.d.pk, village.c.pk]
    )
    card = api.get(f"/hazard-sites/{site.pk}/cards/{village.c.pk}")
    assert "李二河" in PdfReader(io.BytesIO(card.content)).pages[2].extract_text()
    assert RuleSet.objects.count() == 1


def test_bank_batches_and_their_result_over_the_api(cast, village):
    from minqing.lib.excel import read_rows, write_xlsx

    entitlement_list = approved_list(cast.admin, village.flood)
    api = Api(cast.admin)
    made = api.post(f"/lists/{entitlement_list.pk}/bank-batches")
    assert made.status_code == 201 and made.json()["payments"] == 3
    batch = made.json()["id"]
    sheet = api.get(f"/bank-batches/{batch}/file")
    rows = [
        cells for _n, cells in read_rows(io.BytesIO(b"".join(sheet.streaming_content)), "b.xlsx")
    ]
    answer = io.BytesIO()
    write_xlsx(answer, ["流水号", "结果", "失败原因"], [[r[0], "成功", ""] for r in rows[1:]])
    answer.seek(0)
    answer.name = "回盘.xlsx"
    result = api.client.post(
        f"/api/relief/bank-batches/{batch}/result", {"file": answer}, **api.headers
    )
    assert result.json() == {"paid": 3, "failed": 0, "open": 0}
    assert Api(cast.dept).get(f"/bank-batches/{batch}/file").status_code == 403
    assert Api(cast.outsider).get(f"/bank-batches/{batch}/file").status_code == 404
    assert api.get(f"/lists/{entitlement_list.pk}/objections").json() == []
