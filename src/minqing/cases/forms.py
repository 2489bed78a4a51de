"""The forms of the case pages. Each move's form knows the service it calls (``run``), so that
one view serves every move; the API calls the same services."""

from django import forms
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.accounts.selectors import units_in_reach, users_in_reach
from minqing.cases import services
from minqing.cases.models import (
    CaseCategory,
    CaseLevel,
    ContactMethod,
    ExtensionStatus,
    Kind,
    MediationResult,
    Outcome,
    PartyRole,
    Performance,
    Rating,
    Source,
    Status,
)
from minqing.cases.selectors import cases_in_reach
from minqing.lib.forms import DateInput
from minqing.regions.forms import RegionField

DATE = DateInput()


def category_choices():
    groups = {}
    for c in CaseCategory.objects.filter(active=True).select_related("parent"):
        if c.parent_id:
            groups.setdefault(c.parent.name, []).append((c.code, c.name))
    return [("", "—"), *list(groups.items())]


class CaseForm(forms.Form):
    source = forms.ChoiceField(label=_("来源"), choices=Source.choices)
    category = forms.ChoiceField(label=_("类别"), choices=category_choices)
    kind = forms.ChoiceField(
        label=_("性质"), choices=[("", _("按类别")), *Kind.choices], required=False
    )
    level = forms.ChoiceField(
        label=_("层级"), choices=[("", _("按区划")), *CaseLevel.choices], required=False
    )
    title = forms.CharField(label=_("事项"), max_length=100, required=False)
    text = forms.CharField(label=_("诉求内容"), widget=forms.Textarea(attrs={"rows": 4}))
    public = forms.BooleanField(label=_("办理结果可向群众公开"), required=False)
    household = forms.IntegerField(widget=forms.HiddenInput, required=False)
    source_ref = forms.CharField(widget=forms.HiddenInput, required=False, max_length=60)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # The picker first: a case belongs to a village, a township or the county itself.
        self.fields = {
            "region": RegionField(user=user, levels=(3, 4, 5), label=_("所属区划")),
            **self.fields,
        }


class _MoveForm(forms.Form):
    def __init__(self, *args, user, case, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.case = user, case


class NoteForm(_MoveForm):
    note = forms.CharField(
        label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class AssignForm(_MoveForm):
    unit = forms.ModelChoiceField(label=_("承办单位"), queryset=None, required=False)
    handler = forms.ModelChoiceField(label=_("承办人"), queryset=None, required=False)
    leader = forms.ModelChoiceField(label=_("包案领导"), queryset=None, required=False)
    team = forms.ModelMultipleChoiceField(label=_("工作专班"), queryset=None, required=False)
    note = forms.CharField(label=_("派单说明"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        people = users_in_reach(self.user).filter(is_active=True).order_by("username")
        self.fields["unit"].queryset = units_in_reach(self.user).order_by("kind", "name")
        for name in ("handler", "leader", "team"):
            self.fields[name].queryset = people

    def run(self):
        d = self.cleaned_data
        return services.case_assign(
            actor=self.user,
            case=self.case,
            unit=d["unit"],
            handler=d["handler"],
            leader=d["leader"],
            team=list(d["team"] or []),
            note=d["note"],
        )


class AcceptForm(_MoveForm):
    def run(self):
        return services.case_accept(actor=self.user, case=self.case)


class StartForm(NoteForm):
    def run(self):
        return services.case_start(actor=self.user, case=self.case, note=self.cleaned_data["note"])


class SendBackForm(_MoveForm):
    reason = forms.CharField(label=_("退单理由"))
    basis = forms.CharField(label=_("退单依据"), help_text=_("如职责分工文件、属地管理规定"))

    def run(self):
        return services.case_send_back(actor=self.user, case=self.case, **self.cleaned_data)


class AnswerForm(_MoveForm):
    outcome = forms.ChoiceField(label=_("办理结果"), choices=Outcome.choices)
    answer = forms.CharField(label=_("办理情况"), widget=forms.Textarea(attrs={"rows": 3}))

    def run(self):
        return services.case_answer(actor=self.user, case=self.case, **self.cleaned_data)


class VerifyForm(_MoveForm):
    passed = forms.TypedChoiceField(
        label=_("核查结论"),
        coerce=lambda v: v == "1",
        choices=[("1", _("核查通过")), ("0", _("核查不通过，退回重办"))],
    )
    note = forms.CharField(label=_("核查情况"), required=False)

    def run(self):
        return services.case_verify(actor=self.user, case=self.case, **self.cleaned_data)


class CloseForm(NoteForm):
    def run(self):
        return services.case_close(actor=self.user, case=self.case, note=self.cleaned_data["note"])


class ReasonForm(_MoveForm):
    reason = forms.CharField(label=_("理由"))


class EscalateForm(ReasonForm):
    def run(self):
        return services.case_escalate(actor=self.user, case=self.case, **self.cleaned_data)


class ReopenForm(ReasonForm):
    def run(self):
        return services.case_reopen(actor=self.user, case=self.case, **self.cleaned_data)


class MergeForm(_MoveForm):
    into = forms.CharField(label=_("并入案件编号"), max_length=20)
    reason = forms.CharField(label=_("理由"), required=False)

    def run(self):
        d = self.cleaned_data
        into = cases_in_reach(self.user).filter(number=d["into"].strip()).first()
        if into is None:
            raise Http404
        return services.case_merge(actor=self.user, case=self.case, into=into, reason=d["reason"])


class ContactForm(_MoveForm):
    rating = forms.ChoiceField(label=_("满意度"), choices=Rating.choices)
    method = forms.ChoiceField(label=_("回访方式"), choices=ContactMethod.choices)
    note = forms.CharField(label=_("回访情况"), required=False)
    exception_reason = forms.CharField(
        label=_("不满意但不予重办的理由（督查人员填写）"), required=False
    )

    def run(self):
        return services.return_contact_record(actor=self.user, case=self.case, **self.cleaned_data)


class ExtendRequestForm(_MoveForm):
    workdays = forms.IntegerField(label=_("延长工作日"), min_value=1, max_value=30)
    reason = forms.CharField(label=_("延期理由"))

    def run(self):
        return services.extension_request(actor=self.user, case=self.case, **self.cleaned_data)


class ExtendDecideForm(_MoveForm):
    approve = forms.TypedChoiceField(
        label=_("审批意见"),
        coerce=lambda v: v == "1",
        choices=[("1", _("批准")), ("0", _("不批准"))],
    )
    note = forms.CharField(label=_("说明"), required=False)

    def run(self):
        extension = self.case.extensions.filter(status=ExtensionStatus.PENDING).first()
        if extension is None:
            raise Http404
        return services.extension_decide(actor=self.user, extension=extension, **self.cleaned_data)


class SuperviseForm(_MoveForm):
    note = forms.CharField(label=_("督办要求"))
    until = forms.DateField(label=_("督办期限"), widget=DATE)

    def run(self):
        return services.case_supervise(actor=self.user, case=self.case, **self.cleaned_data)


class AttachForm(_MoveForm):
    file = forms.FileField(label=_("附件"))

    def run(self):
        return services.case_attach(
            actor=self.user, case=self.case, upload=self.cleaned_data["file"]
        )


MOVE_FORMS = {
    "assign": AssignForm,
    "accept": AcceptForm,
    "send_back": SendBackForm,
    "start": StartForm,
    "answer": AnswerForm,
    "verify": VerifyForm,
    "close": CloseForm,
    "escalate": EscalateForm,
    "merge": MergeForm,
    "reopen": ReopenForm,
    "contact": ContactForm,
    "extend_request": ExtendRequestForm,
    "extend_decide": ExtendDecideForm,
    "supervise": SuperviseForm,
    "attach": AttachForm,
}
# verify covers verify_fail (one form, a choice); mediation has its own forms below.
FORM_OF_MOVE = {name: name for name in MOVE_FORMS} | {"verify_fail": "verify"}


# Disputes


class PartyForm(_MoveForm):
    title = _("登记当事人")

    name = forms.CharField(label=_("当事人姓名或名称"), max_length=100)
    role = forms.ChoiceField(label=_("当事人身份"), choices=PartyRole.choices)
    address = forms.CharField(label=_("住所"), max_length=200, required=False)

    def run(self):
        return services.dispute_party_add(actor=self.user, case=self.case, **self.cleaned_data)


class SessionForm(_MoveForm):
    title = _("记录一次调解")

    held_on = forms.DateField(label=_("调解日期"), widget=DATE, initial=timezone.localdate)
    place = forms.CharField(label=_("调解地点"), max_length=200)
    record = forms.CharField(label=_("调解记录"), widget=forms.Textarea(attrs={"rows": 3}))

    def run(self):
        return services.mediation_session_add(
            actor=self.user, case=self.case, mediators=[self.user], **self.cleaned_data
        )


class ResultForm(_MoveForm):
    title = _("调解结果与协议")

    result = forms.ChoiceField(label=_("调解结果"), choices=MediationResult.choices)
    on = forms.DateField(label=_("结果日期"), widget=DATE)
    facts = forms.CharField(
        label=_("纠纷主要事实、争议事项"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    terms = forms.CharField(
        label=_("当事人的权利义务（协议内容）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    performance_method = forms.CharField(label=_("履行方式"), required=False)
    perform_by = forms.DateField(label=_("履行期限"), widget=DATE, required=False)
    signed_on = forms.DateField(label=_("协议签订日期"), widget=DATE, required=False)
    signatures = forms.CharField(
        label=_("签名盖章"),
        required=False,
        help_text=_("当事人签名、人民调解员签名、人民调解委员会印章"),
    )

    def run(self):
        d = self.cleaned_data
        agreement = None
        if d["result"] == MediationResult.AGREEMENT:
            if not (d["perform_by"] and d["signed_on"]):
                raise forms.ValidationError(_("达成协议的，须填写履行期限和协议签订日期"))
            agreement = services.Agreement(
                facts=d["facts"],
                terms=d["terms"],
                performance_method=d["performance_method"],
                perform_by=d["perform_by"],
                signed_on=d["signed_on"],
                signatures=d["signatures"],
            )
        return services.mediation_result_record(
            actor=self.user, case=self.case, result=d["result"], on=d["on"], agreement=agreement
        )


class JudicialForm(_MoveForm):
    title = _("申请司法确认")

    applied_on = forms.DateField(label=_("申请司法确认日期"), widget=DATE)

    def run(self):
        return services.judicial_confirmation_apply(
            actor=self.user, case=self.case, **self.cleaned_data
        )


class PerformanceForm(_MoveForm):
    title = _("协议履行回访")

    performance = forms.ChoiceField(
        label=_("履行情况"), choices=[c for c in Performance.choices if c[0] != "pending"]
    )
    on = forms.DateField(label=_("回访日期"), widget=DATE)
    note = forms.CharField(label=_("说明"), required=False)

    def run(self):
        return services.mediation_performance_check(
            actor=self.user, case=self.case, **self.cleaned_data
        )


DISPUTE_FORMS = {
    "party": PartyForm,
    "session": SessionForm,
    "result": ResultForm,
    "judicial": JudicialForm,
    "performance": PerformanceForm,
}


class HolidayForm(forms.Form):
    year = forms.IntegerField(label=_("年份"), min_value=2000, max_value=2100)
    document = forms.CharField(
        label=_("文件名称或文号"),
        max_length=200,
        help_text=_("如：国务院办公厅关于2027年部分节假日安排的通知"),
    )
    days = forms.CharField(
        label=_("放假和调休日期"),
        widget=forms.Textarea(
            attrs={"rows": 10, "placeholder": "2027-01-01~2027-01-03 休 元旦\n2027-02-14 班 春节"}
        ),
        help_text=_("每行一项：日期（或“起~止”）、“休”或“班”、节日名称"),
    )


STATUS_CHOICES = [("", _("全部")), ("open", _("未办结")), *Status.choices]
