"""The registry's forms. They only check what a form can (types, required fields, choices);
the rules live in people.clean_person and the services, whose refusals ``call_service`` puts
back on the fields of the same names (``name``, ``id_number``, ``start`` ...)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.households.models import (
    DamageCause,
    PersonStatus,
    Relation,
    SafetyGrade,
    Sex,
)
from minqing.households.people import PersonInput
from minqing.households.selectors import households_in_reach, visible_categories
from minqing.households.services import PRESENT, RELATION_FIELD, suggested_relations
from minqing.lib.forms import DateInput
from minqing.regions.forms import RegionField

DATE = DateInput()
NOT_HEAD = [(value, label) for value, label in Relation.choices if value != Relation.HEAD]
# 残疾等级 on the 残疾人证: 一级 (most severe) to 四级.
GRADES = [
    ("", "—"),
    ("一级", _("一级")),
    ("二级", _("二级")),
    ("三级", _("三级")),
    ("四级", _("四级")),
]


def _id_widget(placeholder=""):
    return forms.TextInput(
        attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": placeholder}
    )


def _phone_widget(placeholder=""):
    return forms.TextInput(
        attrs={"autocomplete": "off", "inputmode": "tel", "placeholder": placeholder}
    )


class PersonForm(forms.Form):
    """A new person: the head of a new household, or a member added to one."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(label=_("身份证号"), max_length=30, widget=_id_widget())
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    phone = forms.CharField(
        label=_("联系电话"), max_length=20, required=False, widget=_phone_widget()
    )
    sex = forms.ChoiceField(
        label=_("性别"),
        choices=[("", _("（按身份证号）")), *Sex.choices],
        required=False,
        help_text=_("可不填；填写时须与身份证号一致"),
    )
    birth_date = forms.DateField(
        label=_("出生日期"),
        required=False,
        widget=DATE,
        help_text=_("可不填；填写时须与身份证号一致"),
    )
    status = forms.ChoiceField(
        label=_("人员状态"), choices=PersonStatus.choices, initial=PersonStatus.RESIDENT
    )

    def __init__(self, *args, relations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if relations is not None:
            self.fields["relation"].choices = [
                (value, label) for value, label in Relation.choices if value in relations
            ]

    def person_input(self) -> PersonInput:
        data = self.cleaned_data
        return PersonInput(
            name=data["name"],
            id_number=data["id_number"],
            relation=data.get("relation") or Relation.HEAD,
            phone=data["phone"],
            sex=data["sex"],
            birth_date=data["birth_date"],
            status=data.get("status") or PersonStatus.RESIDENT,
        )


class HouseholdForm(PersonForm):
    """A new household: its village, its address and its head."""

    field_order = ["region", "address", "name", "id_number", "phone", "sex", "birth_date"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = RegionField(user=user, levels=(5,), label=_("所属村（社区）"))
        self.fields["address"] = forms.CharField(label=_("家庭住址"), max_length=200)
        self.fields["name"].label = _("户主姓名")
        self.fields["id_number"].label = _("户主身份证号")
        del self.fields["relation"], self.fields["status"]
        self.order_fields(self.field_order)


class HouseholdEditForm(forms.Form):
    """The household's address, and its village (moved within the user's reach)."""

    address = forms.CharField(label=_("家庭住址"), max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = RegionField(
            user=user,
            levels=(5,),
            label=_("所属村（社区）"),
            required=False,  # left out: the village stays
            help_text=_("整户迁往另一个村（社区）时修改；成员、类别、走访随户迁移"),
        )
        self.order_fields(["region", "address"])


class PersonEditForm(forms.Form):
    """Corrections to a person. The ID number and phone are never filled in (the page would
    show them in full): left empty they stay as they are."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=30,
        required=False,
        widget=_id_widget(),
    )
    phone = forms.CharField(
        label=_("联系电话"), max_length=20, required=False, widget=_phone_widget()
    )
    clear_phone = forms.BooleanField(label=_("删除联系电话"), required=False)
    relation = forms.ChoiceField(label=_("与户主关系"), choices=Relation.choices)
    status = forms.ChoiceField(label=_("人员状态"), choices=PersonStatus.choices)

    def __init__(self, *args, person, id_masked: str, phone_masked: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = person
        self.fields["id_number"].widget.attrs["placeholder"] = id_masked
        self.fields["id_number"].help_text = _(
            "当前 %(masked)s；更正时输入完整号码，不改请留空"
        ) % {"masked": id_masked}
        self.fields["phone"].widget.attrs["placeholder"] = phone_masked
        self.fields["phone"].help_text = (
            _("当前 %(masked)s；不改请留空") % {"masked": phone_masked}
            if phone_masked
            else _("尚未登记")
        )
        # The head stays the head, a member stays a member: a new head is a move (迁移).
        is_head = person.relation == Relation.HEAD
        self.fields["relation"].choices = [
            (value, label)
            for value, label in Relation.choices
            if (value == Relation.HEAD) == is_head
        ]

    def person_input(self) -> PersonInput:
        """The whole person as the service wants it, the untouched fields from the record."""
        data, person = self.cleaned_data, self.person
        phone = "" if data["clear_phone"] else (data["phone"] or person.phone)
        return PersonInput(
            name=data["name"],
            id_number=data["id_number"] or person.id_number,
            relation=data["relation"],
            phone=phone,
            status=data["status"],
        )


class MemberRelationsMixin:
    """The members' relations to a new head, one select each (``RELATION_FIELD``): the pieces
    the head change and the move that names the household's next head share. Every member
    but the new head gets one, 已故 and 已迁出 included (the service gives them a relation
    too); once the new head is known the selects start at suggested_relations, until then
    at “按新户主推算”, which the service fills in the same way."""

    def add_member_relations(self, members, new_head, *, old_head_id=None) -> dict[int, str]:
        """A select for each of ``members`` but ``new_head``; ``old_head_id``, the head who
        stays (with a field of their own), counts for the suggestions. Returns them."""
        self.new_head = new_head
        self.remaining = [p for p in members if new_head is None or p.pk != new_head.pk]
        suggested = {}
        if new_head is not None:
            stay = {p.pk: p.relation for p in self.remaining}
            if old_head_id:
                stay[old_head_id] = Relation.HEAD
            suggested = suggested_relations(new_head.relation, stay)
        for p in self.remaining:
            self.fields[RELATION_FIELD % p.pk] = forms.ChoiceField(
                label=p.name if p.status in PRESENT else f"{p.name}（{p.get_status_display()}）",
                choices=[("", _("按新户主推算")), *NOT_HEAD],
                required=False,
                initial=suggested.get(p.pk, ""),
                help_text=_("现登记为“%(relation)s”") % {"relation": p.get_relation_display()},
            )
        return suggested

    def member_fields(self):
        return [self[RELATION_FIELD % p.pk] for p in self.remaining]

    def relations(self) -> dict[int, str]:
        """The relations chosen; a member left at “按新户主推算” is the service's to derive."""
        chosen = {p.pk: self.cleaned_data.get(RELATION_FIELD % p.pk) for p in self.remaining}
        return {pk: relation for pk, relation in chosen.items() if relation}


class MoveForm(MemberRelationsMixin, forms.Form):
    """迁移. Moving the head out of a household whose members stay also asks who heads it
    from now on (``successor``) and, once one is chosen, every other member's relation to
    them: the head change's selects, which the move page shows before it saves (``SHOWN``
    says for which successor the clerk has seen them)."""

    SHOWN = "relations_for"

    household = forms.IntegerField(label=_("迁入户"), widget=forms.RadioSelect)
    relation = forms.ChoiceField(label=_("与新户主关系"), choices=Relation.choices)
    on = forms.DateField(label=_("迁移日期"), widget=DATE)
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)

    def __init__(self, *args, user, person, members=(), **kwargs):
        kwargs.setdefault("initial", {}).setdefault("on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.user, self.person = user, person
        self.fields["household"].error_messages["required"] = _("请先搜索并选择迁入的户")
        self.successors, self.remaining, self.new_head = {}, [], None
        old = person.household
        if old is None or old.head_id != person.pk:
            return
        # A head moving out of a household whose members stay: who heads it from now on
        # (户主变更 in the same step), or no one yet, and its page asks for a 户主变更.
        self.successors = {
            str(p.pk): p for p in members if p.pk != person.pk and p.status in PRESENT
        }
        if not self.successors:
            return
        self.fields["successor"] = forms.ChoiceField(
            label=_("原户新户主"),
            choices=[
                ("", _("暂不指定（之后在原户页面办理户主变更）")),
                *((pk, p.name) for pk, p in self.successors.items()),
            ],
            required=False,
            help_text=_("此人是原户户主；迁出后由谁担任原户户主"),
        )
        successor = self.successors.get(str(self["successor"].value() or ""))
        if successor is None:
            return
        others = [p for p in members if p.pk != person.pk]
        suggested = self.add_member_relations(others, successor)
        if self.is_bound and not self.relations_shown:
            # Not seen yet (no JavaScript, or the successor chosen a moment before saving):
            # filled in with the suggestions, for the clerk to look at before the move.
            self.data = self.data.copy()
            for p in self.remaining:
                self.data[RELATION_FIELD % p.pk] = suggested[p.pk]

    @property
    def relations_shown(self) -> bool:
        """Whether the form the clerk sent showed the selects for the successor chosen."""
        return not self.remaining or self.data.get(self.SHOWN) == str(self.new_head.pk)

    def clean_household(self):
        pk = self.cleaned_data["household"]
        household = households_in_reach(self.user).filter(pk=pk).first()
        if household is None:
            raise ValidationError(_("迁入户不存在，或不在您的管辖范围内"))
        return household

    def clean_successor(self):
        return self.successors.get(self.cleaned_data["successor"])

    def clean(self):
        data = super().clean()
        if not self.relations_shown:
            raise ValidationError(
                _("请确认原户其他成员与新户主%(name)s的关系，再点“迁移”")
                % {"name": self.new_head.name}
            )
        return data


class HeadChangeForm(MemberRelationsMixin, forms.Form):
    """户主变更: a member living in the household becomes its head, and every other member
    gets a relation to them (MemberRelationsMixin)."""

    person = forms.ChoiceField(label=_("新户主"))
    old_head_relation = forms.ChoiceField(
        label=_("原户主改为"),
        choices=[("", _("请选择")), *NOT_HEAD],
        help_text=_("原户主与新户主的关系"),
    )
    on = forms.DateField(label=_("变更日期"), widget=DATE)

    def __init__(self, *args, household, members, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("on", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.candidates = {
            str(p.pk): p for p in members if p.status in PRESENT and p.pk != household.head_id
        }
        self.fields["person"].choices = [("", _("请选择"))] + [
            (pk, f"{p.name}（{p.get_relation_display()}）") for pk, p in self.candidates.items()
        ]
        if not self.candidates:
            self.fields["person"].help_text = _("本户没有可担任户主的在册成员")
        new_head = self.candidates.get(str(self["person"].value() or ""))
        others = [p for p in members if p.pk != household.head_id]
        suggested = self.add_member_relations(others, new_head, old_head_id=household.head_id)
        if household.head_id:
            field = self.fields["old_head_relation"]
            field.label = _("原户主%(name)s改为") % {"name": household.head_name}
            field.initial = suggested.get(household.head_id, "")
        else:
            del self.fields["old_head_relation"]
        self.order_fields(["person", "old_head_relation"])  # "on" last

    def clean_person(self):
        return self.candidates[self.cleaned_data["person"]]


class GrantForm(forms.Form):
    category = forms.ChoiceField(label=_("类别"))
    target = forms.ChoiceField(label=_("认定对象"), required=False)
    grade = forms.ChoiceField(
        label=_("等级"), choices=GRADES, required=False, help_text=_("仅残疾等分等级的类别填写")
    )
    start = forms.DateField(label=_("起始日期"), widget=DATE)
    end = forms.DateField(label=_("终止日期"), widget=DATE, required=False)
    document = forms.CharField(
        label=_("认定文件"), max_length=200, required=False, help_text=_("文号或证件号")
    )

    def __init__(self, *args, user, members, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("start", timezone.localdate())
        super().__init__(*args, **kwargs)
        self.categories = {c.code: c for c in visible_categories(user)}
        self.fields["category"].choices = [("", _("请选择类别"))] + [
            (c.code, f"{c.name}（{c.get_scope_display()}）") for c in self.categories.values()
        ]
        self.members = {str(p.pk): p for p in members}
        self.fields["target"].choices = [("", _("本户"))] + [
            (pk, p.name) for pk, p in self.members.items()
        ]
        self.fields["target"].help_text = _("户类别认定给本户，人员类别认定给其中一人")

    def clean_category(self):
        return self.categories[self.cleaned_data["category"]]

    def clean_target(self):
        return self.members.get(self.cleaned_data["target"])


class GrantEndForm(forms.Form):
    end = forms.DateField(label=_("终止日期"), widget=DATE)
    reason = forms.CharField(label=_("终止原因"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("end", timezone.localdate())
        super().__init__(*args, **kwargs)


class AssessmentForm(forms.Form):
    grade = forms.ChoiceField(label=_("危房等级"), choices=SafetyGrade.choices)
    assessed_on = forms.DateField(label=_("鉴定日期"), widget=DATE)
    appraiser = forms.CharField(label=_("鉴定人（机构）"), max_length=100, required=False)
    cause = forms.ChoiceField(label=_("受损原因"), choices=DamageCause.choices, required=False)
    ground_floor_flooded = forms.BooleanField(label=_("首层进水"), required=False)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("assessed_on", timezone.localdate())
        super().__init__(*args, **kwargs)


class CloseForm(forms.Form):
    """销户: a household none of whose members lives here any more."""

    on = forms.DateField(label=_("销户日期"), widget=DATE)
    reason = forms.CharField(
        label=_("销户原因"), max_length=200, help_text=_("如：全户迁出、户内人员均已故")
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("on", timezone.localdate())
        super().__init__(*args, **kwargs)


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=_("撤销原因"), max_length=200, help_text=_("如：误销户、成员迁回")
    )
