import hashlib
import re

from django.urls import reverse

from minqing.accounts.models import ApiToken, User
from minqing.accounts.services import token_create
from minqing.audit.models import AuditLog

TOKENS = reverse("accounts:tokens")
RAW_TOKEN = re.compile(r"mq_[A-Za-z0-9_-]{20,}")


def _bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def _me_status(client, raw: str) -> int:
    return client.get("/api/me", **_bearer(raw)).status_code


# The page


def test_tokens_page_lists_no_tokens_at_first(cast, client_for):
    response = client_for(cast.village).get(TOKENS)

    assert response.status_code == 200
    assert "还没有令牌" in response.content.decode()


def test_tokens_page_needs_login(db, client):
    response = client.get(TOKENS)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_a_new_token_is_shown_once_and_only_its_digest_is_stored(cast, client_for, client):
    page = client_for(cast.village)

    response = page.post(TOKENS, {"name": "数据报送脚本"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "只显示这一次" in html
    raw = RAW_TOKEN.search(html).group()
    token = ApiToken.objects.get(user=cast.village)
    assert token.name == "数据报送脚本"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(raw in str(value) for value in stored.values())

    later = page.get(TOKENS).content.decode()
    assert raw not in later
    assert "只显示这一次" not in later
    assert f"{token.prefix}…" in later
    assert "数据报送脚本" in later

    assert _me_status(client, raw) == 200


def test_creating_a_token_is_audited_without_the_token(cast, client_for):
    response = client_for(cast.village).post(TOKENS, {"name": "数据报送脚本"})

    raw = RAW_TOKEN.search(response.content.decode()).group()
    row = AuditLog.objects.get(entity="accounts.apitoken", action="create")
    assert row.actor_id == cast.village.pk
    assert row.source == "web"
    assert raw not in str(row.changes)


def test_a_token_needs_a_name(cast, client_for):
    response = client_for(cast.village).post(TOKENS, {"name": ""})

    assert response.status_code == 200
    assert RAW_TOKEN.search(response.content.decode()) is None
    assert not ApiToken.objects.exists()


def test_tokens_page_refuses_wrong_method(cast, client_for):
    assert client_for(cast.village).put(TOKENS).status_code == 405


def test_revoking_a_token_shuts_it_out_of_the_api(cast, client_for, client):
    token, raw = token_create(user=cast.village, name="数据报送脚本")
    assert _me_status(client, raw) == 200

    response = client_for(cast.village).post(reverse("accounts:token_revoke", args=[token.pk]))

    assert response.status_code == 302
    assert response["Location"] == TOKENS
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = client.get("/api/me", **_bearer(raw))
    assert refused.status_code == 401
    assert refused.json()["detail"] == "未登录，或访问令牌无效、已吊销"
    row = AuditLog.objects.get(entity="accounts.apitoken", action="revoke")
    assert row.actor_id == cast.village.pk


def test_a_revoked_token_is_listed_as_revoked(cast, client_for):
    token, _ = token_create(user=cast.village, name="数据报送脚本")
    page = client_for(cast.village)
    page.post(reverse("accounts:token_revoke", args=[token.pk]))

    html = page.get(TOKENS).content.decode()

    assert "已吊销" in html
    assert reverse("accounts:token_revoke", args=[token.pk]) not in html


def test_revoking_by_get_is_refused(cast, client_for):
    token, _ = token_create(user=cast.village, name="数据报送脚本")

    response = client_for(cast.village).get(reverse("accounts:token_revoke", args=[token.pk]))

    assert response.status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


def test_one_user_cannot_revoke_anothers_token(cast, client_for, client):
    token, raw = token_create(user=cast.village, name="数据报送脚本")

    # Not even the county admin: tokens are personal.
    for other in (cast.township, cast.admin):
        response = client_for(other).post(reverse("accounts:token_revoke", args=[token.pk]))
        assert response.status_code == 404

    token.refresh_from_db()
    assert token.revoked_at is None
    assert _me_status(client, raw) == 200


def test_another_users_token_is_not_listed(cast, client_for):
    token_create(user=cast.village, name="村里的脚本")

    html = client_for(cast.township).get(TOKENS).content.decode()

    assert "村里的脚本" not in html


# The API


def test_api_lists_my_tokens_without_secrets(cast, client):
    mine, raw = token_create(user=cast.village, name="数据报送脚本")
    token_create(user=cast.township, name="乡镇脚本")

    response = client.get("/api/me/tokens", **_bearer(raw))

    assert response.status_code == 200
    body = response.json()
    assert [t["name"] for t in body] == ["数据报送脚本"]
    assert body[0]["id"] == mine.pk
    assert body[0]["prefix"] == raw[:10]
    assert "digest" not in body[0]
    assert "token" not in body[0]
    assert raw not in response.content.decode()


def test_api_creates_a_token_shown_once(cast, client):
    _, raw = token_create(user=cast.village, name="数据报送脚本")

    response = client.post(
        "/api/me/tokens", {"name": "第二个脚本"}, content_type="application/json", **_bearer(raw)
    )

    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "第二个脚本"
    new_raw = body["token"]
    assert new_raw.startswith("mq_")
    assert body["prefix"] == new_raw[:10]
    assert _me_status(client, new_raw) == 200
    listed = client.get("/api/me/tokens", **_bearer(raw)).content.decode()
    assert new_raw not in listed


def test_api_revokes_a_token(cast, client):
    _, raw = token_create(user=cast.village, name="数据报送脚本")
    doomed, doomed_raw = token_create(user=cast.village, name="旧脚本")

    response = client.delete(f"/api/me/tokens/{doomed.pk}", **_bearer(raw))

    assert response.status_code == 204
    doomed.refresh_from_db()
    assert doomed.revoked_at is not None
    assert _me_status(client, doomed_raw) == 401
    assert _me_status(client, raw) == 200


def test_api_cannot_revoke_anothers_token(cast, client):
    theirs, theirs_raw = token_create(user=cast.township, name="乡镇脚本")
    _, raw = token_create(user=cast.village, name="数据报送脚本")

    response = client.delete(f"/api/me/tokens/{theirs.pk}", **_bearer(raw))

    assert response.status_code == 404
    assert response.json()["detail"] == "未找到该资源，或不在您的管辖范围内"
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert _me_status(client, theirs_raw) == 200


def test_api_token_endpoints_need_a_token(cast, client):
    assert client.get("/api/me/tokens").status_code == 401
    assert (
        client.post("/api/me/tokens", {"name": "x"}, content_type="application/json").status_code
        == 401
    )
    assert not ApiToken.objects.exists()


def test_a_deactivated_users_token_is_refused(cast, client):
    _, raw = token_create(user=cast.village, name="数据报送脚本")
    User.objects.filter(pk=cast.village.pk).update(is_active=False)

    response = client.get("/api/me", **_bearer(raw))

    assert response.status_code == 401
    assert response.json()["detail"] == "未登录，或访问令牌无效、已吊销"


def test_using_a_token_records_when(cast, client):
    token, raw = token_create(user=cast.village, name="数据报送脚本")

    client.get("/api/me", **_bearer(raw))

    token.refresh_from_db()
    assert token.last_used_at is not None
