import datetime

from minqing.cases import services
from minqing.cases.models import Case, CaseEvent, Outcome, Status
from minqing.cases.tests.helpers import (
    accepted_case,
    answered_case,
    ready_to_close,
    village_case,
)


def test_list_and_detail_are_scoped_and_mask_petitions(cast, client_for):
    case = village_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    body = client_for(cast.supervisor).get("/api/cases").json()
    assert [row["number"] for row in body["items"]] == [case.number]
    assert "征地" not in body["items"][0]["title"]
    detail = client_for(cast.supervisor).get(f"/api/cases/{case.pk}").json()
    assert "征地" not in detail["text"] and detail["timeline"][0]["action"] == "register"
    assert client_for(cast.outsider).get(f"/api/cases/{case.pk}").status_code == 404
    assert client_for(cast.outsider).get(f"/api/cases/by-number/{case.number}").status_code == 404
    assert client_for(cast.admin).get(f"/api/cases/by-number/{case.number}").json()["id"] == case.pk
    bad = client_for(cast.admin).get("/api/cases?status=nope").json()
    assert "状态“nope”无效" in bad["detail"]


def test_register_and_move_through_the_api(cast, client_for):
    client = client_for(cast.village)
    response = client.post(
        "/api/cases",
        {
            "source": "hotline",
            "text": "自来水停了三天",
            "category": "utilities.water",
            "region": "130681107228",
        },
        content_type="application/json",
    )
    assert response.status_code == 201
    case_id = response.json()["id"]
    moved = client.post(
        f"/api/cases/{case_id}/moves/assign",
        {"handler": cast.village.pk},
        content_type="application/json",
    )
    assert moved.status_code == 200 and moved.json()["status"] == "assigned"
    refused = client.post(
        f"/api/cases/{case_id}/moves/answer",
        {"outcome": "solved", "answer": "已恢复"},
        content_type="application/json",
    )
    assert refused.status_code == 422 and "不能办结反馈" in refused.json()["detail"]
    assert Case.objects.get(pk=case_id).status == Status.ASSIGNED
    viewer = client_for(cast.viewer).post(
        f"/api/cases/{case_id}/moves/accept", {}, content_type="application/json"
    )
    assert viewer.status_code == 403


def test_return_contact_and_close_through_the_api(cast, client_for):
    case = answered_case(cast)
    admin = client_for(cast.admin)
    admin.post(
        f"/api/cases/{case.pk}/moves/verify", {"passed": True}, content_type="application/json"
    )
    contact = admin.post(
        f"/api/cases/{case.pk}/contacts",
        {"rating": "satisfied", "method": "phone"},
        content_type="application/json",
    )
    assert contact.status_code == 201
    closed = client_for(cast.village).post(
        f"/api/cases/{case.pk}/moves/close", {}, content_type="application/json"
    )
    assert closed.json()["status"] == "closed"
    again = admin.post(f"/api/cases/{case.pk}/moves/close", {}, content_type="application/json")
    assert again.status_code == 422
    assert CaseEvent.objects.filter(case=case, action="close").count() == 1


def test_disputes_through_the_api(cast, client_for):
    case = village_case(cast, text="两户因宅基地界线争吵", category="land.homestead")
    client = client_for(cast.village)
    url = f"/api/cases/{case.pk}/dispute"
    for name, role in (("王大", "applicant"), ("李二", "respondent")):
        client.post(f"{url}/party", {"name": name, "role": role}, content_type="application/json")
    client.post(
        f"{url}/session",
        {"held_on": "2026-11-20", "place": "村委会", "record": "双方同意以老墙为界"},
        content_type="application/json",
    )
    result = client.post(
        f"{url}/result",
        {
            "result": "agreement",
            "on": "2026-11-20",
            "facts": "宅基地界线争议",
            "terms": "以老墙为界，李二拆除越界部分",
            "performance_method": "自行拆除",
            "perform_by": "2026-12-20",
            "signed_on": "2026-11-20",
            "signatures": "王大、李二、调解员陈立军",
        },
        content_type="application/json",
    )
    assert result.status_code == 200 and result.json()["result"] == "agreement"
    late = client.post(
        f"{url}/judicial", {"applied_on": "2026-12-25"}, content_type="application/json"
    )
    assert late.status_code == 422 and "30 日内" in late.json()["detail"]
    ok = client.post(
        f"{url}/judicial", {"applied_on": "2026-12-10"}, content_type="application/json"
    )
    assert ok.json()["judicial_applied_on"] == "2026-12-10"
    assert Case.objects.get(pk=case.pk).mediation == "agreement"


def test_figures_api(cast, client_for):
    case = ready_to_close(cast)
    client_for(cast.village).post(
        f"/api/cases/{case.pk}/moves/close", {}, content_type="application/json"
    )
    today = datetime.date.today().isoformat()
    body = client_for(cast.admin).get(f"/api/cases/figures?start=2020-01-01&end={today}").json()
    assert body["total"]["resolved"] == {"value": 1, "total": 1, "rate": 100.0}
    assert body["rows"][0]["group"] == "130681107"


def test_holidays_api_is_for_the_county_admin(cast, client_for):
    payload = {"document": "国办发明电〔2026〕12号", "days": "2027-01-01~2027-01-03 休 元旦"}
    assert (
        client_for(cast.village)
        .put("/api/cases/holidays/2027", payload, content_type="application/json")
        .status_code
        == 403
    )
    body = (
        client_for(cast.admin)
        .put("/api/cases/holidays/2027", payload, content_type="application/json")
        .json()
    )
    assert len(body["days"]) == 3


def test_a_petitions_answer_and_notes_are_hidden_like_its_text(cast, client_for):
    case = accepted_case(cast, text="反映征地补偿款未足额发放", category="petition.visit")
    note, answer = "已约见上访人李某核实", "已协调补发补偿款"
    case = services.case_start(actor=cast.village, case=case, note=note)
    services.case_answer(actor=cast.village, case=case, outcome=Outcome.SOLVED, answer=answer)

    hidden = client_for(cast.supervisor).get(f"/api/cases/{case.pk}").json()
    notes = [e["note"] or "" for e in hidden["timeline"]]
    assert answer not in hidden["answer"] and not any(note in n for n in notes)
    page = client_for(cast.supervisor).get(f"/cases/{case.pk}/").content.decode()
    assert answer not in page and note not in page

    shown = client_for(cast.admin).get(f"/api/cases/{case.pk}").json()
    assert shown["answer"] == answer
    assert note in [e["note"] for e in shown["timeline"]]
