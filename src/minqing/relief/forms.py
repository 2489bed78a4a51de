"""Forms of the relief pages. The rule editor is a table of lines rather than a Django
formset: ``lines_from_post`` reads it for both the save and the live preview."""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from minqing.households.models import Category, SafetyGrade
from minqing.lib.forms import DateInput
from minqing.relief.models import (
    GrantKind,
    HazardDecision,
    HazardKind,
    HazardScale,
    MatchMode,
    Material,
    Objection,
    Payment,
    ProgrammeKind,
    ProjectKind,
    Stage,
)
from minqing.relief.services import LineInput

EMPTY_LINES = 2  # blank rows offered below the current lines


def yuan_to_fen(text: str, where: str) -> int:
    try:
        value = Decimal(text.replace(",", "").strip() or "0")
    except InvalidOperation:
        raise ValidationError(
            _("%(where)s：金额“%(v)s”不是数字") % {"where": where, "v": text}
        ) from None
    return int((value * 100).quantize(Decimal(1)))


def _number(text: str, where: str, label: str):
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationError(_("%(where)s：%(label)s应为整数") % {"where": where, "label": label})
    return int(text)


def lines_from_post(post) -> tuple[list[LineInput], list[str]]:
    """The rule lines typed into the editor (rows 0 … n, blank rows skipped) and the errors,
    each naming its row."""
    lines, errors = [], []
    materials = {str(m.pk): m for m in Material.objects.all()}
    count = int(post.get("rows") or 0) if str(post.get("rows") or "0").isdigit() else 0
    for i in range(min(count, 100)):
        get = lambda name, i=i: (post.get(f"{name}-{i}") or "").strip()  # noqa: E731
        if not get("code") and not get("label"):
            continue
        where = _("第 %d 行") % (i + 1)
        try:
            condition = {}
            for key in ("grades", "categories", "not_categories", "causes"):
                values = post.getlist(f"{key}-{i}")
                if values:
                    condition[key] = values
            if get("flooded") in ("1", "0"):
                condition["ground_floor_flooded"] = get("flooded") == "1"
            for key, label in (
                ("members_min", _("最少人口")),
                ("members_max", _("最多人口")),
                ("age_min", _("最小年龄")),
                ("age_max", _("最大年龄")),
            ):
                value = _number(get(key), where, label)
                if value is not None:
                    condition[key] = value
            if get("regions"):
                condition["regions"] = get("regions")
            try:
                quantity = Decimal(get("quantity") or "0")
            except InvalidOperation:
                raise ValidationError(_("%(where)s：数量应为数字") % {"where": where}) from None
            lines.append(
                LineInput(
                    code=get("code"),
                    label=get("label"),
                    kind=get("kind"),
                    condition=condition,
                    amount_fen=yuan_to_fen(get("amount"), where),
                    material=materials.get(get("material")),
                    quantity=quantity,
                    waiver=get("waiver"),
                    waiver_months=_number(get("months"), where, _("减免月数")) or 0,
                )
            )
        except ValidationError as error:
            errors.extend(error.messages)
    return lines, errors


def editor_rows(lines) -> list[dict]:
    """Rows for the editor template: the given lines, then blank ones."""
    rows = [
        {
            "code": line.code,
            "label": line.label,
            "kind": line.kind,
            "condition": line.condition,
            "amount": (Decimal(line.amount_fen) / 100).normalize() if line.amount_fen else "",
            "material": line.material.pk if line.material else "",
            "quantity": line.quantity.normalize() if line.quantity else "",
            "waiver": line.waiver,
            "months": line.waiver_months or "",
        }
        for line in lines
    ]
    return rows + [{"condition": {}} for _ in range(EMPTY_LINES)]


def editor_choices() -> dict:
    return {
        "kinds": GrantKind.choices,
        "grades": SafetyGrade.values,
        "categories": Category.objects.filter(scope="household").order_by("order")
        | Category.objects.filter(code__in=["disabled", "elderly_alone"]),
        "materials": Material.objects.all(),
        "matches": MatchMode.choices,
    }


class ProgrammeForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("项目名称"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("类型"), choices=ProgrammeKind.choices)
    starts_on = forms.DateField(label=gettext_lazy("开始日期"), widget=DateInput)
    ends_on = forms.DateField(
        label=gettext_lazy("结束日期"),
        required=False,
        widget=DateInput,
    )
    budget = forms.DecimalField(
        label=gettext_lazy("预算（元）"), min_value=0, decimal_places=2, required=False
    )
    regions = forms.CharField(
        label=gettext_lazy("覆盖区划代码"),
        required=False,
        help_text=gettext_lazy("多个用逗号分隔，如 130681107,130681101；留空为您的全部管辖范围"),
    )
    exclusive_group = forms.CharField(
        label=gettext_lazy("互斥组"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("同一互斥组的一次性项目，一户只能从其中一个领取"),
    )
    document = forms.CharField(label=gettext_lazy("依据文件"), required=False, max_length=200)


class CycleForm(forms.Form):
    label = forms.CharField(label=gettext_lazy("批次"), max_length=20, required=False)
    on = forms.DateField(label=gettext_lazy("认定基准日"), widget=DateInput)


class ObjectionForm(forms.Form):
    raised_by = forms.CharField(label=gettext_lazy("异议人"), max_length=50)
    household = forms.IntegerField(label=gettext_lazy("涉及户（编号）"), required=False)
    text = forms.CharField(label=gettext_lazy("异议内容"), widget=forms.Textarea(attrs={"rows": 2}))


class DecideForm(forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("处理结果"), choices=[c for c in Objection.Decision.choices if c[0]]
    )
    answer = forms.CharField(label=gettext_lazy("处理意见"), max_length=500)


class HandoverForm(forms.Form):
    receiver = forms.CharField(label=gettext_lazy("领取人"), max_length=50)
    proof = forms.ChoiceField(label=gettext_lazy("确认方式"), choices=Payment.Proof.choices)
    photo = forms.FileField(label=gettext_lazy("签字或手印照片"), required=False)
    depot = forms.IntegerField(label=gettext_lazy("出库仓库"), required=False)


class StockForm(forms.Form):
    depot = forms.IntegerField(label=gettext_lazy("仓库"))
    material = forms.IntegerField(label=gettext_lazy("物资"))
    quantity = forms.DecimalField(label=gettext_lazy("数量"), decimal_places=3)
    note = forms.CharField(label=gettext_lazy("来源或差异原因"), max_length=200, required=False)


class ProjectForm(forms.Form):
    household = forms.IntegerField(label=gettext_lazy("户编号"))
    kind = forms.ChoiceField(label=gettext_lazy("重建方式"), choices=ProjectKind.choices)


class MilestoneForm(forms.Form):
    stage = forms.ChoiceField(label=gettext_lazy("节点"), choices=Stage.choices)
    on = forms.DateField(label=gettext_lazy("日期"), widget=DateInput)
    photo = forms.FileField(label=gettext_lazy("照片"), required=False)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)


class HazardSiteForm(forms.Form):
    code = forms.CharField(label=gettext_lazy("隐患点编号"), max_length=30)
    name = forms.CharField(label=gettext_lazy("隐患点名称"), max_length=100)
    region = forms.CharField(label=gettext_lazy("所在村（区划代码）"), max_length=12)
    kind = forms.ChoiceField(label=gettext_lazy("灾害类型"), choices=HazardKind.choices)
    location = forms.CharField(label=gettext_lazy("地理位置"), max_length=200)
    longitude = forms.DecimalField(
        label=gettext_lazy("经度"), required=False, max_digits=9, decimal_places=6
    )
    latitude = forms.DecimalField(
        label=gettext_lazy("纬度"), required=False, max_digits=9, decimal_places=6
    )
    scale = forms.ChoiceField(label=gettext_lazy("规模等级"), choices=HazardScale.choices)
    volume_m3 = forms.IntegerField(label=gettext_lazy("规模（立方米）"), min_value=0)
    trigger = forms.CharField(label=gettext_lazy("诱发因素"), max_length=100)
    danger_zone = forms.CharField(label=gettext_lazy("威胁范围"), max_length=200)
    monitor_name = forms.CharField(label=gettext_lazy("监测人"), max_length=50)
    monitor_phone = forms.CharField(label=gettext_lazy("监测人电话"), max_length=20)
    warning_signal = forms.CharField(label=gettext_lazy("预警信号"), max_length=100)
    warning_by = forms.CharField(label=gettext_lazy("预警信号发布人"), max_length=50)
    warning_phone = forms.CharField(label=gettext_lazy("发布人电话"), max_length=20)
    evacuation_route = forms.CharField(label=gettext_lazy("撤离路线"), max_length=200)
    shelter = forms.CharField(label=gettext_lazy("避险场所"), max_length=100)
    decision = forms.ChoiceField(label=gettext_lazy("处置措施"), choices=HazardDecision.choices)
    progress = forms.IntegerField(label=gettext_lazy("处置进度（%）"), min_value=0, max_value=100)
    progress_note = forms.CharField(label=gettext_lazy("进度说明"), max_length=200, required=False)
    households = forms.CharField(
        label=gettext_lazy("受威胁户（户编号，逗号分隔）"), required=False, max_length=2000
    )
