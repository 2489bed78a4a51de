import datetime

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Cap
from minqing.accounts.selectors import units_in_reach, users_in_reach
from minqing.households.models import Category, SafetyGrade
from minqing.lib.forms import DateInput
from minqing.outreach import selectors
from minqing.outreach.models import DEFAULT_ASPECTS, CampaignKind, PairingKind
from minqing.outreach.services import VisitInput
from minqing.regions.models import Level, Region, prefix_q


def cadres_for(user):
    """Users in the actor's reach who may be paired (any role that may write)."""
    return [
        u
        for u in users_in_reach(user).filter(is_active=True).order_by("full_name", "id")
        if u.can(Cap.WRITE)
    ]


class CadreChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        label = f"{obj.display_name}（{obj.unit.name if obj.unit else obj.username}）"
        return label if obj.is_active else f"{label}{gettext('（账户已停用）')}"


class CadreMultipleField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.display_name}（{obj.unit.name if obj.unit else obj.username}）"


def _cadre_queryset(user):
    from minqing.accounts.models import User

    return User.objects.filter(pk__in=[u.pk for u in cadres_for(user)]).select_related("unit")


# The interval a must-visit category starts with on a new campaign's form.
DEFAULT_EVERY_DAYS = 30


class MustVisitWidget(forms.MultiWidget):
    """One number of days per category (``<name>_<code>``), each labelled with its name."""

    template_name = "outreach/must_visit_widget.html"

    def __init__(self, categories, attrs=None):
        self.categories = categories
        days = {"min": 1, "max": 366, "inputmode": "numeric"}
        super().__init__({c.code: forms.NumberInput(days) for c in categories}, attrs)

    def decompress(self, value):
        value = value or {}
        return [value.get(c.code) for c in self.categories]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for sub, category in zip(context["widget"]["subwidgets"], self.categories, strict=True):
            sub["label"] = category.name
        return context


class MustVisitField(forms.MultiValueField):
    """五必访 as {category code: every n days}, one interval per category: a category given a
    number of days is a must-visit one, a blank one is not."""

    def __init__(self, *, categories, **kwargs):
        self.codes = [c.code for c in categories]
        fields = []
        for c in categories:
            message = gettext("“%(name)s”的走访间隔应为 1 到 366 天") % {"name": c.name}
            fields.append(
                forms.IntegerField(
                    required=False,
                    min_value=1,
                    max_value=366,
                    error_messages=dict.fromkeys(("invalid", "min_value", "max_value"), message),
                )
            )
        kwargs.setdefault("widget", MustVisitWidget(categories))
        super().__init__(fields, require_all_fields=False, required=False, **kwargs)

    def compress(self, data_list):
        if not data_list:  # every box blank
            return {}
        return {c: days for c, days in zip(self.codes, data_list, strict=True) if days is not None}


class CampaignForm(forms.Form):
    field_order = ["name", "kind", "start", "end", "regions", "rounds", "must_visit"]
    name = forms.CharField(label=_("活动名称"), max_length=100)
    kind = forms.ChoiceField(label=_("活动类型"), choices=CampaignKind.choices)
    start = forms.DateField(label=_("开始日期"), widget=DateInput)
    end = forms.DateField(label=_("结束日期"), widget=DateInput)
    regions = forms.CharField(
        label=_("覆盖区划代码"),
        help_text=_("县、乡镇或村的区划代码（6、9 或 12 位），多个用逗号分隔"),
    )
    rounds = forms.IntegerField(label=_("走访轮次"), min_value=1, max_value=12, initial=1)
    aspects = forms.CharField(
        label=_("走访内容（四访）"),
        initial="、".join(DEFAULT_ASPECTS),
        help_text=_("用顿号或逗号分隔"),
    )
    report_day = forms.IntegerField(label=_("每月报送日"), min_value=1, max_value=28, initial=20)

    def __init__(self, *args, user, **kwargs):
        """``initial["must_visit"]``, when given, is {category code: days} (see
        ``must_visit_initial``)."""
        super().__init__(*args, **kwargs)
        self.fields["regions"].initial = user.reach
        self.fields["start"].initial = timezone.localdate()
        # The categories are data: the field is made per form, then put in its place.
        categories = list(Category.objects.all())
        self.fields["must_visit"] = MustVisitField(
            categories=categories,
            label=_("必访类别及走访间隔（五必访）"),
            help_text=_("填写天数的类别为必访户，至少每隔这么多天走访一次；留空为不必访"),
            initial={c.code: DEFAULT_EVERY_DAYS for c in categories if c.must_visit},
        )
        self.order_fields(self.field_order)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        split = data["aspects"].replace(",", "、").replace("，", "、").split("、")
        return {
            "name": data["name"],
            "kind": data["kind"],
            "start": data["start"],
            "end": data["end"],
            "regions": [r.strip() for r in data["regions"].replace("，", ",").split(",")],
            "rounds": data["rounds"],
            "must_visit": self._must_visit_rules(),
            "aspects": [a.strip() for a in split if a.strip()],
            "report_day": data["report_day"],
        }

    def _must_visit_rules(self) -> list[dict]:
        """The rules in the order they were stored (new categories after), so that saving a
        campaign unchanged leaves its rules, and its audit trail, as they were."""
        chosen = self.cleaned_data["must_visit"]
        before = [c for c in (self.initial.get("must_visit") or {}) if c in chosen]
        order = before + [c for c in chosen if c not in before]
        return [{"category": c, "every_days": chosen[c]} for c in order]


def must_visit_initial(campaign) -> dict[str, int]:
    """A campaign's rules as the campaign form's ``must_visit`` initial value."""
    return {r["category"]: r["every_days"] for r in campaign.must_visit}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(MultipleFileField, self).clean(d, initial) for d in data]
        return [super().clean(data, initial)] if data else []


class VisitEditForm(forms.Form):
    address = forms.CharField(label=_("走访地点"), max_length=200, required=False)
    aspects = forms.MultipleChoiceField(
        label=_("走访内容（四访）"), required=False, widget=forms.CheckboxSelectMultiple
    )
    family = forms.CharField(
        label=_("家庭情况"), required=False, widget=forms.Textarea({"rows": 2})
    )
    thinking = forms.CharField(
        label=_("思想状况"), required=False, widget=forms.Textarea({"rows": 2})
    )
    difficulty = forms.CharField(
        label=_("困难原因"), required=False, widget=forms.Textarea({"rows": 2})
    )
    help_needed = forms.CharField(
        label=_("帮扶需求"), required=False, widget=forms.Textarea({"rows": 2})
    )
    found = forms.CharField(
        label=_("发现的问题"), required=False, widget=forms.Textarea({"rows": 2})
    )
    promised = forms.CharField(
        label=_("承诺事项"), required=False, widget=forms.Textarea({"rows": 2})
    )

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aspects"].choices = [(a, a) for a in campaign.aspects]


class VisitForm(VisitEditForm):
    """A new visit: what its author may later edit, and what is fixed once it is logged."""

    field_order = ["visited_at"]
    visited_at = forms.DateTimeField(
        label=_("走访时间"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    needs = forms.CharField(
        label=_("群众诉求"),
        required=False,
        help_text=_("每行一条，保存后可逐条立案"),
        widget=forms.Textarea({"rows": 2}),
    )
    companions = CadreMultipleField(
        label=_("同行干部"), queryset=None, required=False, help_text=_("可不选")
    )
    photos = MultipleFileField(label=_("照片"), required=False)
    latitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    longitude = forms.FloatField(required=False, widget=forms.HiddenInput)
    client_id = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, campaign, user, household=None, **kwargs):
        super().__init__(*args, campaign=campaign, **kwargs)
        self.fields["companions"].queryset = _cadre_queryset(user).exclude(pk=user.pk)
        if household is not None:
            self.fields["address"].initial = household.address
        self.fields["visited_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def visit_input(self) -> VisitInput:
        data = self.cleaned_data
        visited_at = data["visited_at"]
        if timezone.is_naive(visited_at):
            visited_at = timezone.make_aware(visited_at)
        return VisitInput(
            visited_at=visited_at,
            address=data["address"],
            latitude=data["latitude"],
            longitude=data["longitude"],
            aspects=data["aspects"],
            family=data["family"],
            thinking=data["thinking"],
            difficulty=data["difficulty"],
            help_needed=data["help_needed"],
            found=data["found"],
            promised=data["promised"],
            needs=[line for line in data["needs"].splitlines() if line.strip()],
            photos=data["photos"],
            companions=list(data["companions"]),
            client_id=data["client_id"],
        )


class TextForm(forms.Form):
    text = forms.CharField(label=_("内容"), max_length=2000, widget=forms.Textarea({"rows": 2}))


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("群众告知的验证码"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput({"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


class PickForm(forms.Form):
    """The households to pair, as picked on the assign page."""

    households = forms.TypedMultipleChoiceField(coerce=int, required=True, choices=())
    mode = forms.ChoiceField(choices=[("one", "one"), ("spread", "spread")], initial="one")
    cadre = CadreChoiceField(label=_("包联干部"), queryset=None, required=False)
    cadres = CadreMultipleField(label=_("包联干部（平均分配）"), queryset=None, required=False)
    start = forms.DateField(label=_("起始日期"), widget=DateInput)

    def __init__(self, *args, user, household_ids, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["households"].choices = [(pk, pk) for pk in household_ids]
        self.fields["cadre"].queryset = _cadre_queryset(user)
        self.fields["cadres"].queryset = _cadre_queryset(user)

    def clean(self):
        data = super().clean()
        if data.get("mode") == "one" and not data.get("cadre"):
            self.add_error("cadre", _("请选择包联干部"))
        if data.get("mode") == "spread" and not data.get("cadres"):
            self.add_error("cadres", _("请选择至少一位包联干部"))
        return data


class PickFilterForm(forms.Form):
    region = forms.ModelChoiceField(
        label=_("村（社区）"), queryset=Region.objects.none(), to_field_name="code"
    )
    category = forms.ModelChoiceField(
        label=_("类别"), queryset=Category.objects.all(), to_field_name="code", required=False
    )
    grade = forms.ChoiceField(
        label=_("危房等级"), choices=[("", _("全部")), *SafetyGrade.choices], required=False
    )
    unpaired = forms.BooleanField(label=_("只看未包联"), required=False, initial=True)

    def __init__(self, *args, user, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        q = prefix_q("code", user.reach)
        cover = Q(pk__in=[])
        for prefix in campaign.regions:
            cover |= prefix_q("code", prefix)
        self.fields["region"].queryset = Region.objects.filter(
            q, cover, level=Level.VILLAGE, retired_in__isnull=True
        ).order_by("code")


class HandoverForm(forms.Form):
    cadre = CadreChoiceField(label=_("离任干部"), queryset=None)
    successors = CadreMultipleField(
        label=_("接替干部"),
        queryset=None,
        help_text=_("可选多人：其包联户按住址相邻平均分给接替干部"),
    )
    on = forms.DateField(label=_("移交日期"), widget=DateInput)
    reason = forms.CharField(label=_("移交原因"), max_length=200)

    def __init__(self, *args, user, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        active = _cadre_queryset(user)
        # The leaving cadre's account is usually switched off first: it is offered while it
        # still holds pairings here. Only active cadres may take the households over.
        leaving = active | selectors.switched_off_cadres(user, campaign).select_related("unit")
        self.fields["cadre"].queryset = leaving.order_by("full_name", "id")
        self.fields["successors"].queryset = active
        self.fields["on"].initial = timezone.localdate()


class PairingForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("包联类型"),
        choices=[c for c in PairingKind.choices if c[0] != PairingKind.CADRE_HOUSEHOLD],
    )
    region = forms.CharField(
        label=_("区划代码"), max_length=12, help_text=_("领导挂点填乡镇代码，其余填村（社区）代码")
    )
    cadre = CadreChoiceField(label=_("领导或干部"), queryset=None, required=False)
    unit = forms.ModelChoiceField(label=_("包村部门"), queryset=None, required=False)
    compound = forms.CharField(label=_("小区名称"), max_length=100, required=False)
    start = forms.DateField(label=_("起始日期"), widget=DateInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cadre"].queryset = _cadre_queryset(user)
        self.fields["unit"].queryset = units_in_reach(user).filter(kind="department")
        self.fields["start"].initial = timezone.localdate()

    def clean_region(self):
        code = self.cleaned_data["region"].strip().ljust(12, "0")
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise forms.ValidationError(_("没有区划代码 %(code)s") % {"code": code})
        return region


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("包联表（.xlsx / .xls / .csv）"),
        help_text=_("列：户编号、干部账号、起始日期（可空）。第一行为表头。"),
    )


def default_start(campaign) -> datetime.date:
    return min(max(timezone.localdate(), campaign.start), campaign.end)
