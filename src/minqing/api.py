"""The REST API: django-ninja at /api/, OpenAPI at /api/docs. A request authenticates with a
personal access token (``Authorization: Bearer mq_...``) or the page session; either way the
same scope rules apply, because every endpoint goes through the same selectors and services."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaError
from ninja.security import HttpBearer, SessionAuth

from minqing.accounts.services import token_authenticate


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class ActiveSessionAuth(SessionAuth):
    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        return user if user is not None and user.is_active else None


api = NinjaAPI(
    title="民情台账 API",
    version="1",
    description="县级民情台账系统接口。使用个人访问令牌：`Authorization: Bearer mq_...`。",
    urls_namespace="api",
    auth=[TokenAuth(), ActiveSessionAuth()],
)


def _error(request, status: int, detail: str, **extra):
    return api.create_response(request, {"detail": detail, **extra}, status=status)


@api.exception_handler(Http404)
def not_found(request, exc):
    return _error(request, 404, "未找到该资源，或不在您的管辖范围内")


@api.exception_handler(PermissionDenied)
def forbidden(request, exc):
    return _error(request, 403, str(exc) or "您没有执行此操作的权限")


@api.exception_handler(AuthenticationError)
def unauthenticated(request, exc):
    return _error(request, 401, "未登录，或访问令牌无效、已吊销")


@api.exception_handler(ValidationError)
def invalid(request, exc):
    # A service's refusal by field ({"id_number": [...]}) keeps its fields, so that a client
    # can put each message next to the input it is about.
    fields = exc.message_dict if hasattr(exc, "error_dict") else {}
    return _error(request, 422, "；".join(exc.messages), errors=exc.messages, fields=fields)


@api.exception_handler(SchemaError)
def malformed(request, exc):
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg", "")}
        for e in exc.errors
    ]
    fields = "、".join(e["field"] for e in errors if e["field"]) or "请求体"
    return _error(request, 422, f"请求数据格式不正确：{fields}", errors=errors)


@api.exception_handler(HttpError)
def http_error(request, exc):
    message = str(exc)
    for english, chinese in NINJA_MESSAGES.items():
        if message.startswith(english):
            message = chinese
    return _error(request, exc.status_code, message)


# django-ninja's own refusals, which it words in English.
NINJA_MESSAGES = {
    "CSRF check Failed": "CSRF 校验失败：网页会话写操作需带 X-CSRFToken 请求头，脚本请改用访问令牌",
    "Cannot parse request body": "请求体不是有效的 JSON",
}


# First: a path is matched against each pattern before its own, and a phone's visits are most
# of the API's requests.
api.add_router("/outreach", "minqing.outreach.api.router")
api.add_router("/me", "minqing.accounts.api.router")
api.add_router("/regions", "minqing.regions.api.router")
api.add_router("/households", "minqing.households.api.households")
api.add_router("/people", "minqing.households.api.people")
api.add_router("/categories", "minqing.households.api.categories")
api.add_router("/grants", "minqing.households.api.grants")
api.add_router("/cases", "minqing.cases.api.router")
api.add_router("/relief", "minqing.relief.api.router")
