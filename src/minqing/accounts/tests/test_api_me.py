import re

import pytest
from django.test import Client

from minqing.accounts.models import ApiToken, User
from minqing.accounts.services import token_create
from minqing.audit.models import AuditLog

UNAUTHENTICATED = "未登录，或访问令牌无效、已吊销"


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def village_token(cast) -> str:
    return token_create(user=cast.village, name="数据报送脚本")[1]


def test_me_describes_the_village_cadre(cast, client, village_token):
    response = client.get("/api/me", **_bearer(village_token))

    assert response.status_code == 200
    assert response.json() == {
        "username": "village",
        "full_name": "陈立军",
        "role": "village",
        "role_label": "村（社区）干部",
        "reach": "130681107228",
        "reach_name": "万全庄村村民委员会",
        "unit": None,
        "can_view_personal": False,
        "capabilities": ["write"],
    }


def test_me_lists_the_county_admins_capabilities(cast, client):
    _, raw = token_create(user=cast.admin, name="管理脚本")

    body = client.get("/api/me", **_bearer(raw)).json()

    assert body["reach"] == "130681"
    assert body["reach_name"] == "涿州市"
    assert body["can_view_personal"] is True
    assert body["capabilities"] == ["manage_users", "read_audit", "write"]


def test_me_works_with_the_page_session(cast, client_for):
    response = client_for(cast.township).get("/api/me")

    assert response.status_code == 200
    assert response.json()["reach_name"] == "双塔街道"


def test_me_without_credentials_is_401_in_chinese(db, client):
    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json() == {"detail": UNAUTHENTICATED}


@pytest.mark.parametrize("header", ["Bearer mq_not-a-real-token", "Bearer ", "Token abc", "mq_x"])
def test_me_with_a_bad_token_is_401(cast, client, header):
    response = client.get("/api/me", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response.json()["detail"] == UNAUTHENTICATED


def test_me_refuses_wrong_method(cast, client, village_token):
    assert client.put("/api/me", **_bearer(village_token)).status_code == 405
    assert client.delete("/api/me", **_bearer(village_token)).status_code == 405


def test_api_docs_are_served_without_login_and_without_a_cdn(db, client):
    response = client.get("/api/docs")

    assert response.status_code == 200
    html = response.content.decode()
    assert "民情台账 API" in html
    # The CSP allows only this site's scripts and styles; a CDN would leave a blank page
    # (and county networks often have no internet at all).
    assert not re.search(r"""(src|href)=["']https?://""", html)
    for script in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in script or 'type="application/json"' in script


def test_openapi_schema_is_served_without_login(db, client):
    response = client.get("/api/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "民情台账 API"
    assert "/api/me" in schema["paths"]
    assert "/api/me/tokens/{token_id}" in schema["paths"]


@pytest.mark.parametrize(
    ("body", "field"),
    [("{}", "name"), ('{"name": 5}', "name"), ("[]", "name")],
)
def test_a_malformed_body_is_422_in_chinese(cast, client, village_token, body, field):
    response = client.post(
        "/api/me/tokens", body, content_type="application/json", **_bearer(village_token)
    )

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("请求数据格式不正确：")
    assert field in detail
    assert ApiToken.objects.count() == 1


def test_a_refused_write_is_422_with_the_services_message(cast, client, village_token):
    response = client.post(
        "/api/me/tokens", {"name": "   "}, content_type="application/json", **_bearer(village_token)
    )

    assert response.status_code == 422
    assert response.json()["detail"] == "请填写令牌名称，例如“数据报送脚本”"
    assert ApiToken.objects.count() == 1


def test_a_write_through_the_api_is_audited_as_api(cast, client, village_token):
    response = client.post(
        "/api/me/tokens",
        {"name": "第二个脚本"},
        content_type="application/json",
        **_bearer(village_token),
    )

    assert response.status_code == 201
    row = AuditLog.objects.get(entity="accounts.apitoken", entity_id=str(response.json()["id"]))
    assert row.action == "create"
    assert row.source == "api"
    assert row.actor_id == cast.village.pk
    assert row.ip == "127.0.0.1"


def test_a_session_write_without_csrf_is_refused(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.village)

    response = client.post("/api/me/tokens", {"name": "跨站"}, content_type="application/json")

    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_a_bearer_write_needs_no_csrf(cast, village_token):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/api/me/tokens",
        {"name": "脚本"},
        content_type="application/json",
        **_bearer(village_token),
    )

    assert response.status_code == 201


def test_a_deactivated_users_session_is_refused(cast, client_for):
    client = client_for(cast.village)
    User.objects.filter(pk=cast.village.pk).update(is_active=False)

    response = client.get("/api/me")

    assert response.status_code == 401
    assert response.json()["detail"] == UNAUTHENTICATED


def test_an_unparseable_body_is_refused_in_chinese(cast):
    _, raw = token_create(user=cast.village, name="脚本")
    response = Client().post(
        "/api/me/tokens",
        "{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "请求体不是有效的 JSON"


def test_a_session_write_without_csrf_is_refused_in_chinese(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.village)
    response = client.post("/api/me/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF 校验失败" in response.json()["detail"]
