from datetime import datetime

from ninja import Router, Schema, Status

from minqing.accounts.roles import ROLE_CAPS, Role
from minqing.accounts.selectors import get_token_for_user, tokens_of
from minqing.accounts.services import token_create, token_revoke
from minqing.regions.codes import pad
from minqing.regions.models import Region

router = Router(tags=["当前用户"])


class MeOut(Schema):
    username: str
    full_name: str
    role: str
    role_label: str
    reach: str
    reach_name: str
    unit: str | None
    can_view_personal: bool
    capabilities: list[str]


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIn(Schema):
    name: str


class TokenCreated(TokenOut):
    token: str


@router.get("", response=MeOut, summary="当前用户")
def me(request):
    user = request.user
    region = Region.objects.filter(code=pad(user.reach)).first()
    return MeOut(
        username=user.username,
        full_name=user.full_name,
        role=user.role,
        role_label=str(Role(user.role).label),  # a lazy string fails pydantic validation
        reach=user.reach,
        reach_name=region.name if region else "",
        unit=user.unit.name if user.unit else None,
        can_view_personal=user.can_view_personal,
        capabilities=sorted(ROLE_CAPS.get(user.role, ())),
    )


@router.get("/tokens", response=list[TokenOut], summary="我的访问令牌")
def list_tokens(request):
    return list(tokens_of(request.user))


@router.post("/tokens", response={201: TokenCreated}, summary="创建访问令牌（令牌只显示这一次）")
def create_token(request, payload: TokenIn):
    token, raw = token_create(user=request.user, name=payload.name)
    return Status(201, TokenCreated(**TokenOut.from_orm(token).dict(), token=raw))


@router.delete("/tokens/{token_id}", response={204: None}, summary="吊销访问令牌")
def revoke_token(request, token_id: int):
    token, _ = get_token_for_user(request.user, token_id)
    token_revoke(actor=request.user, token=token)
    return Status(204, None)
