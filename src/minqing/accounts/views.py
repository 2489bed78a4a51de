from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts import services
from minqing.accounts.forms import LoginForm, PasswordForm, TokenForm, UserForm
from minqing.accounts.roles import Cap, Role
from minqing.accounts.selectors import (
    get_token_for_user,
    get_user_for_user,
    tokens_of,
    units_with_user_counts,
    users_in_reach,
)
from minqing.lib.forms import call_service
from minqing.lib.htmx import render_page
from minqing.lib.paging import keyset_page
from minqing.regions.codes import pad
from minqing.regions.models import Region


@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    if form.is_valid():
        try:
            user = services.user_login(request=request, **form.cleaned_data)
        except services.LoginRefused as refused:
            form.add_error(None, str(refused))
        else:
            login(request, user)
            target = request.GET.get("next", "")
            if not url_has_allowed_host_and_scheme(
                target, {request.get_host()}, request.is_secure()
            ):
                target = "web:home"
            return redirect(target)
    return render(request, "accounts/login.html", {"form": form})


@require_POST
def logout_view(request):
    logout(request)
    return redirect("accounts:login")


@login_required
@require_http_methods(["GET", "POST"])
def password_view(request):
    form = PasswordForm(request.POST or None)
    if form.is_valid() and call_service(
        form,
        services.user_set_password,
        actor=request.user,
        user=request.user,
        password=form.cleaned_data["new_password"],
        old_password=form.cleaned_data["old_password"],
    ):
        update_session_auth_hash(request, request.user)
        messages.success(request, gettext("密码已修改"))
        return redirect("web:home")
    return render(request, "accounts/password.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    form = TokenForm(request.POST or None)
    created = None
    if form.is_valid():
        result = call_service(form, services.token_create, user=request.user, **form.cleaned_data)
        if result:
            created = result[1]
            form = TokenForm()
    return render(
        request,
        "accounts/tokens.html",
        {"form": form, "tokens": tokens_of(request.user), "created": created},
    )


@login_required
@require_POST
def token_revoke_view(request, pk: int):
    token, _ = get_token_for_user(request.user, pk)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, gettext("令牌“%(name)s”已吊销") % {"name": token.name})
    return redirect("accounts:tokens")


def _require_manager(user):
    if not user.can(Cap.MANAGE_USERS):
        raise PermissionDenied(gettext("您没有管理用户的权限"))


@login_required
@require_GET
def users(request):
    _require_manager(request.user)
    qs = users_in_reach(request.user)
    query = request.GET.get("q", "").strip()
    if query:
        qs = qs.filter(full_name__contains=query) | qs.filter(username__icontains=query)
    if request.GET.get("locked"):
        qs = qs.filter(locked_until__gt=timezone.now())
    page = keyset_page(qs, request.GET, order=("id",), size=50, descending=False)
    names = dict(
        Region.objects.filter(code__in={pad(u.reach) for u in page.rows}).values_list(
            "code", "name"
        )
    )
    for user in page.rows:
        user.reach_name = names.get(pad(user.reach), user.reach)
        user.role_label = Role(user.role).label
    return render_page(
        request,
        "accounts/users.html",
        "rows",
        {"page": page, "query": query, "now": timezone.now()},
    )


@login_required
@require_http_methods(["GET", "POST"])
def user_new(request):
    _require_manager(request.user)
    form = UserForm(request.POST or None, actor=request.user)
    if form.is_valid():
        user = call_service(form, services.user_create, actor=request.user, **form.cleaned_data)
        if user:
            messages.success(request, gettext("已创建用户 %(name)s") % {"name": user.display_name})
            return redirect("accounts:users")
    return render(request, "accounts/user_form.html", {"form": form, "editing": None})


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int):
    user, can_write = get_user_for_user(request.user, pk)
    if not can_write:
        raise PermissionDenied(gettext("您没有管理用户的权限"))
    initial = {f: getattr(user, f) for f in services.USER_AUDIT_FIELDS}
    initial["reach"] = pad(user.reach)
    form = UserForm(request.POST or None, actor=request.user, editing=True, initial=initial)
    if form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "username"}
        if call_service(form, services.user_update, actor=request.user, user=user, **fields):
            messages.success(request, gettext("已保存用户 %(name)s") % {"name": user.display_name})
            return redirect("accounts:users")
    return render(request, "accounts/user_form.html", {"form": form, "editing": user})


@login_required
@require_POST
def user_unlock_view(request, pk: int):
    user, can_write = get_user_for_user(request.user, pk)
    if not can_write:
        raise PermissionDenied(gettext("您没有管理用户的权限"))
    services.user_unlock(actor=request.user, user=user)
    messages.success(request, gettext("已解锁用户 %(name)s") % {"name": user.display_name})
    return redirect("accounts:users")


@login_required
@require_GET
def units(request):
    """The units in reach (county office, departments, townships, villages), with their users."""
    _require_manager(request.user)
    rows = units_with_user_counts(request.user)
    return render(request, "accounts/units.html", {"units": rows})
