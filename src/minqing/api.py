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
    # Answered like a service's refusal (detail, errors, fields), in Chinese: pydantic words
    # its messages in English and names fields by their path (body.payload.household_id).
    fields: dict[str, list[str]] = {}
    for error in exc.errors:
        fields.setdefault(_field_name(error.get("loc", ())), []).append(_schema_message(error))
    named = "、".join(name for name in fields if name != NON_FIELD) or "请求体"
    return _error(
        request,
        422,
        f"请求数据格式不正确：{named}",
        errors=[
            f"{name}：{message}" if name != NON_FIELD else message
            for name, messages in fields.items()
            for message in messages
        ],
        fields=fields,
    )


NON_FIELD = "__all__"  # as in a Django ValidationError's message_dict


def _field_name(loc) -> str:
    """The field as the client wrote it: ``("body", "payload", "head", "name")`` -> head.name,
    ``("query", "q")`` -> q. A body's second step is the view's parameter, not a field."""
    path = list(loc)
    if path and path[0] == "body":
        path = path[2:]
    elif path and path[0] in ("query", "path", "header", "cookie", "form", "file"):
        path = path[1:]
    return ".".join(str(step) for step in path) or NON_FIELD


def _schema_message(error: dict) -> str:
    kind, ctx = error.get("type", ""), dict(error.get("ctx") or {})
    if kind in ("value_error", "assertion_error") and ctx.get("error"):
        return str(ctx["error"])  # our own validators' words
    if "expected" in ctx:  # "'head', 'spouse' or 'child'"
        ctx["expected"] = str(ctx["expected"]).replace(" or ", "、").replace(", ", "、")
    for kinds, message in SCHEMA_MESSAGES:
        if kind in kinds:
            try:
                return message % ctx
            except (KeyError, TypeError, ValueError):
                break
    return "格式不正确"


# pydantic's error types, in Chinese; %(...)s come from the error's context.
SCHEMA_MESSAGES = [
    (("missing",), "必须填写"),
    (("int_parsing", "int_type", "int_from_float", "int_parsing_size"), "应为整数"),
    (
        ("float_parsing", "float_type", "decimal_parsing", "decimal_type", "finite_number"),
        "应为数字",
    ),
    (("bool_parsing", "bool_type"), "应为 true 或 false"),
    (
        ("date_parsing", "date_type", "date_from_datetime_parsing", "date_from_datetime_inexact"),
        "应为日期，格式如 2026-06-15",
    ),
    (
        (
            "datetime_parsing",
            "datetime_type",
            "datetime_from_date_parsing",
            "datetime_object_invalid",
        ),
        "应为日期时间，格式如 2026-06-15T09:30:00+08:00",
    ),
    (("time_parsing", "time_type"), "应为时间，格式如 09:30"),
    (("string_type",), "应为文字"),
    (("string_too_long",), "不能超过 %(max_length)s 个字"),
    (("string_too_short",), "至少应有 %(min_length)s 个字"),
    (("enum", "literal_error"), "应为以下之一：%(expected)s"),
    (("extra_forbidden",), "不是可接受的字段"),
    (("list_type", "tuple_type", "set_type"), "应为列表"),
    (("too_long",), "最多 %(max_length)s 项"),
    (("too_short",), "至少应有 %(min_length)s 项"),
    (("model_type", "model_attributes_type", "dict_type"), "应为对象"),
    (("greater_than",), "应大于 %(gt)s"),
    (("greater_than_equal",), "不能小于 %(ge)s"),
    (("less_than",), "应小于 %(lt)s"),
    (("less_than_equal",), "不能大于 %(le)s"),
    (("json_invalid",), "不是有效的 JSON"),
]


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
