import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext

from minqing.accounts.models import ApiToken, OrgUnit, User
from minqing.accounts.roles import ROLE_REACH_DIGITS, Cap, Role
from minqing.audit.services import audit_record, diff, snapshot
from minqing.lib import statements
from minqing.regions.codes import DIGITS_LEVEL, pad
from minqing.regions.models import Region

USER_AUDIT_FIELDS = [
    "username",
    "full_name",
    "role",
    "reach",
    "unit",
    "phone",
    "can_view_personal",
    "is_active",
]


class LoginRefused(Exception):
    """A login that failed, with the message to show (in the active language)."""


def _user_region(user: User) -> str:
    return pad(user.reach) if user.reach else ""


def _audit_user(*, actor, action: str, user: User, changes: dict | None = None) -> None:
    audit_record(
        actor=actor,
        action=action,
        entity="accounts.user",
        entity_id=user.pk,
        region_code=_user_region(user),
        changes=changes,
    )


def validate_reach(*, role: str, reach: str) -> Region:
    """The region a reach stands for, or a ValidationError saying what is wrong with it."""
    if not reach.isdigit() or len(reach) not in DIGITS_LEVEL:
        raise ValidationError(
            gettext("管辖范围“%(reach)s”不是有效的区划代码前缀（应为2、4、6、9或12位数字）")
            % {"reach": reach}
        )
    if len(reach) not in ROLE_REACH_DIGITS[role]:
        # Translators: the separator between items of a list, here "2、4、6".
        allowed = gettext("、").join(str(d) for d in sorted(ROLE_REACH_DIGITS[role]))
        raise ValidationError(
            gettext(
                "“%(role)s”的管辖范围应为 %(allowed)s 位区划代码，而“%(reach)s”是 %(digits)d 位"
            )
            % {"role": Role(role).label, "allowed": allowed, "reach": reach, "digits": len(reach)}
        )
    # level__lte: in 东莞、中山、儋州 (cities without counties) the 6-digit county code is the
    # city's own code, so a 6-digit reach can name a level-2 region.
    region = Region.objects.filter(code=pad(reach), level__lte=DIGITS_LEVEL[len(reach)]).first()
    if region is None:
        raise ValidationError(gettext("区划代码“%(code)s”不存在") % {"code": reach})
    if region.retired_in:
        raise ValidationError(
            gettext("区划“%(name)s”已于 %(year)s 年版撤销")
            % {"name": region.name, "year": region.retired_in}
        )
    return region


def _check_grant(*, actor: User, reach: str, can_view_personal: bool) -> None:
    if not actor.can(Cap.MANAGE_USERS):
        raise PermissionDenied(gettext("您没有管理用户的权限"))
    if not reach.startswith(actor.reach):
        raise ValidationError(
            gettext("管辖范围“%(reach)s”超出了您自己的管辖范围") % {"reach": reach}
        )
    if can_view_personal and not actor.can_view_personal:
        raise ValidationError(gettext("您本人没有查看完整个人信息的权限，不能授予他人"))


@transaction.atomic
def user_create(
    *,
    actor: User | None,
    username: str,
    full_name: str,
    role: str,
    reach: str,
    password: str,
    unit: OrgUnit | None = None,
    phone: str = "",
    can_view_personal: bool = False,
) -> User:
    """Create a user. ``actor=None`` is the command line (createadmin, demo)."""
    validate_reach(role=role, reach=reach)
    if actor is not None:
        _check_grant(actor=actor, reach=reach, can_view_personal=can_view_personal)
    if User.objects.filter(username=username).exists():
        raise ValidationError(gettext("用户名“%(username)s”已被使用") % {"username": username})
    user = User(
        username=username,
        full_name=full_name,
        role=role,
        reach=reach,
        unit=unit,
        phone=phone,
        can_view_personal=can_view_personal,
    )
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save()
    _audit_user(
        actor=actor,
        action="create",
        user=user,
        changes=diff({}, snapshot(user, USER_AUDIT_FIELDS)),
    )
    return user


@transaction.atomic
def user_update(*, actor: User, user: User, **fields) -> User:
    """Change a user's role, reach, unit, name, phone, permission or active flag."""
    before = snapshot(user, USER_AUDIT_FIELDS)
    for name, value in fields.items():
        if name not in USER_AUDIT_FIELDS or name == "username":
            raise ValueError(f"user_update cannot set {name}")
        setattr(user, name, value)
    validate_reach(role=user.role, reach=user.reach)
    # Only a new grant of the personal-data permission needs the actor to hold it; keeping an
    # existing grant while editing the phone number does not.
    granting = user.can_view_personal and not before["can_view_personal"]
    _check_grant(actor=actor, reach=user.reach, can_view_personal=granting)
    if user.pk == actor.pk and not user.is_active:
        raise ValidationError(gettext("不能停用自己的账户"))
    changes = diff(before, snapshot(user, USER_AUDIT_FIELDS))
    if changes:
        user.save(update_fields=list(fields))
        _audit_user(actor=actor, action="update", user=user, changes=changes)
    return user


@transaction.atomic
def user_unlock(*, actor: User, user: User) -> User:
    if not actor.can(Cap.MANAGE_USERS):
        raise PermissionDenied(gettext("您没有管理用户的权限"))
    changes = {
        "failed_logins": [user.failed_logins, 0],
        "locked_until": [str(user.locked_until), None],
    }
    User.objects.filter(pk=user.pk).update(failed_logins=0, locked_until=None)
    user.failed_logins, user.locked_until = 0, None
    _audit_user(actor=actor, action="unlock", user=user, changes=changes)
    return user


@transaction.atomic
def user_set_password(
    *, actor: User | None, user: User, password: str, old_password: str | None
) -> User:
    """Change one's own password (``old_password`` required) or, as an administrator,
    set another user's (``old_password=None``). ``actor=None`` is the command line."""
    if actor is None:
        pass
    elif user.pk == actor.pk:
        if old_password is None or not user.check_password(old_password):
            raise ValidationError(gettext("原密码不正确"))
    elif not actor.can(Cap.MANAGE_USERS):
        raise PermissionDenied(gettext("您没有管理用户的权限"))
    password_validation.validate_password(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    _audit_user(actor=actor, action="set_password", user=user)
    return user


def user_login(*, request, username: str, password: str) -> User:
    """Check a password, counting failures; lock the account after too many."""
    now = timezone.now()
    user = User.objects.filter(username=username).first()
    if user is not None and user.is_locked(now):
        until = date_format(timezone.localtime(user.locked_until), "H:i")
        raise LoginRefused(
            gettext("连续登录失败次数过多，账户已锁定至 %(until)s，请稍后再试或联系管理员解锁")
            % {"until": until}
        )
    authed = authenticate(request, username=username, password=password)
    if authed is None:
        if user is not None and user.is_active:
            _count_failure(user, now)
        raise LoginRefused(gettext("用户名或密码不正确"))
    with transaction.atomic():
        if authed.failed_logins:
            User.objects.filter(pk=authed.pk).update(failed_logins=0, locked_until=None)
            authed.failed_logins = 0
        _audit_user(actor=authed, action="login", user=authed)
    return authed


def _count_failure(user: User, now) -> None:
    limit = settings.LOGIN_MAX_FAILURES
    with transaction.atomic():
        # A lock that has run out starts the count again; left in place, it would stop the
        # lock below from ever being set a second time.
        User.objects.filter(pk=user.pk, locked_until__lte=now).update(
            failed_logins=0, locked_until=None
        )
        User.objects.filter(pk=user.pk).update(failed_logins=F("failed_logins") + 1)
        failures = User.objects.values_list("failed_logins", flat=True).get(pk=user.pk)
        if failures >= limit:
            until = now + timedelta(minutes=settings.LOGIN_LOCK_MINUTES)
            # Only the request that reaches the limit locks and records it.
            if User.objects.filter(pk=user.pk, locked_until__isnull=True).update(
                locked_until=until
            ):
                _audit_user(
                    actor=None,
                    action="lock",
                    user=user,
                    changes={"failed_logins": [None, failures]},
                )


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str) -> tuple[ApiToken, str]:
    """A new personal access token; the raw token is returned once and never stored."""
    name = name.strip()
    if not name:
        raise ValidationError(gettext("请填写令牌名称，例如“数据报送脚本”"))
    if len(name) > 50:
        raise ValidationError(gettext("令牌名称不能超过50个字"))
    raw = "mq_" + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], digest=_digest(raw))
    audit_record(
        actor=user,
        action="create",
        entity="accounts.apitoken",
        entity_id=token.pk,
        region_code=_user_region(user),
        changes={"name": [None, name]},
    )
    return token, raw


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> None:
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    ):
        audit_record(
            actor=actor,
            action="revoke",
            entity="accounts.apitoken",
            entity_id=token.pk,
            region_code=_user_region(token.user),
            changes={"name": [token.name, None]},
        )


def token_authenticate(raw: str) -> User | None:
    """The active user a raw token belongs to, or None."""
    now = timezone.now()
    # Hand-written: this runs on every API call, where the ORM's building of the same join
    # cost twice the query (bench/outreach.py, outreach.post). "stale": the token's use was
    # last recorded over a minute ago (at most one write a minute, however busy the script).
    with statements.cursor() as cursor:
        cursor.execute(
            f"SELECT {statements.columns(User, 'u')}, t.id,"
            f" (t.last_used_at IS NULL OR t.last_used_at < %s)"
            f" FROM {User._meta.db_table} u JOIN {ApiToken._meta.db_table} t"
            f" ON t.user_id = u.id"
            f" WHERE t.digest = %s AND t.revoked_at IS NULL AND u.is_active",
            [
                connection.ops.adapt_datetimefield_value(now - timedelta(minutes=1)),
                _digest(raw),
            ],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    user = statements.from_row(User, row, "u")
    user.token_id, user.token_stale = row[-2], bool(row[-1])
    if user.token_stale:
        ApiToken.objects.filter(pk=user.token_id).update(last_used_at=now)
    return user


@transaction.atomic
def orgunit_create(
    *, actor: User | None, name: str, kind: str, region: Region, parent: OrgUnit | None = None
) -> OrgUnit:
    if actor is not None and not (actor.can(Cap.MANAGE_USERS) and actor.reaches(region.code)):
        raise PermissionDenied(gettext("您没有在该区划下创建单位的权限"))
    unit = OrgUnit.objects.create(name=name, kind=kind, region=region, parent=parent)
    audit_record(
        actor=actor,
        action="create",
        entity="accounts.orgunit",
        entity_id=unit.pk,
        region_code=region.code,
        changes={"name": [None, name], "kind": [None, kind], "region": [None, region.code]},
    )
    return unit
