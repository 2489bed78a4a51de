from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from minqing.accounts.models import OrgUnit
from minqing.accounts.roles import Role
from minqing.accounts.selectors import units_in_reach
from minqing.regions.codes import prefix_of
from minqing.regions.forms import RegionField


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PasswordForm(forms.Form):
    old_password = forms.CharField(
        label=_("原密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少10位，不能全是数字，不能与用户名相近"),
    )
    confirm = forms.CharField(
        label=_("再次输入新密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("confirm"):
            raise ValidationError(_("两次输入的新密码不一致"))
        return data


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("令牌名称"), max_length=50, help_text=_("写明用途，例如“乡镇数据报送脚本”")
    )


class UserForm(forms.Form):
    """Create or edit a user. The reach is picked as a region and stored as its prefix."""

    username = forms.RegexField(
        label=_("用户名"),
        regex=r"^[A-Za-z0-9_.-]{3,30}$",
        error_messages={"invalid": _("用户名只能用3到30位字母、数字、点、横线或下划线")},
    )
    full_name = forms.CharField(label=_("姓名"), max_length=50)
    role = forms.ChoiceField(label=_("角色"), choices=Role.choices)
    unit = forms.ModelChoiceField(
        label=_("所在单位"), queryset=OrgUnit.objects.none(), required=False
    )
    phone = forms.CharField(label=_("联系电话"), max_length=20, required=False)
    can_view_personal = forms.BooleanField(
        label=_("可查看完整个人信息（身份证号、电话等）"), required=False
    )
    password = forms.CharField(
        label=_("初始密码"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("至少10位；请当面告知本人并要求首次登录后修改"),
    )

    def __init__(self, *args, actor, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reach"] = RegionField(user=actor, levels=(2, 3, 4, 5), label=_("管辖范围"))
        self.fields["unit"].queryset = units_in_reach(actor).order_by("kind", "name")
        if editing:
            del self.fields["password"]
            self.fields["username"].disabled = True
            self.fields["is_active"] = forms.BooleanField(label=_("启用"), required=False)

    def clean_reach(self):
        return prefix_of(self.cleaned_data["reach"].code)
