"""Every write to the registry. Each service checks the actor's reach and role, changes the
rows, keeps the copies on Household (head name, member count) in step, and writes its audit
row in the same transaction. Audit rows carry masked personal data only."""

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts.access import require_personal, require_write
from minqing.audit.services import audit_record, diff, snapshot
from minqing.households import hooks
from minqing.households.categories import grade_refusal
from minqing.households.models import (
    Assessment,
    Category,
    CategoryGrant,
    CategoryScope,
    DamageCause,
    Dwelling,
    Household,
    Membership,
    Person,
    PersonStatus,
    Relation,
    SafetyGrade,
)
from minqing.households.people import PersonInput, clean_person, id_hash, phone_hash
from minqing.lib.crypto import encrypt, key_id, keyed_hash, keyring
from minqing.lib.masking import mask_id_number, mask_phone
from minqing.regions.models import Level, Region

HOUSEHOLD_FIELDS = ["region", "address", "head_name"]
DWELLING_FIELDS = ["grade", "assessed_on", "appraiser", "cause", "ground_floor_flooded"]
# Members who count in 家庭人口.
PRESENT = [PersonStatus.RESIDENT, PersonStatus.AWAY]


def _check_village(region: Region) -> None:
    if region.level != Level.VILLAGE or region.retired_in:
        raise ValidationError({"region": _("户必须属于一个现行的村（社区）")})


def closed_refusal(household: Household | None) -> str:
    """Why a closed household (销户) takes no change, in the words of its page's button
    (撤销销户); "" for a current one. The pages say it before showing a form."""
    if household is None or not household.closed_on:
        return ""
    return _("该户已于 %(date)s 销户，如需办理请先撤销销户") % {
        "date": household.closed_on.isoformat()
    }


def _require_open(household: Household | None, field: str | None = None) -> None:
    """A closed household (销户) takes no new member, category, assessment or edit until it
    is reopened; what it held stays as it was on the day it closed."""
    if message := closed_refusal(household):
        raise ValidationError({field: message} if field else message)


def _refresh_household(household: Household) -> None:
    """Recompute the head-name and member-count copies after a change of members."""
    household.member_count = household.members.filter(status__in=PRESENT).count()
    head = household.head
    household.head_name = head.name if head else ""
    household.head_initials = head.name_initials if head else ""
    household.save(update_fields=["member_count", "head_name", "head_initials", "updated_at"])


def _new_person(household: Household, data: PersonInput, *, on: datetime.date) -> Person:
    clean = clean_person(data)
    if Person.objects.filter(id_hash=clean.fields["id_hash"]).exists():
        raise ValidationError(
            {
                "id_number": _("身份证号 %(masked)s 已登记在另一户，请用“迁移”办理")
                % {"masked": mask_id_number(clean.id_number)}
            }
        )
    try:
        with transaction.atomic():
            person = Person.objects.create(
                household=household, region=household.region, **clean.fields
            )
    except IntegrityError:  # a concurrent registration of the same number
        raise ValidationError({"id_number": _("身份证号已登记")}) from None
    Membership.objects.create(
        person=person, household=household, relation=data.relation, joined_on=on
    )
    person.audit_values = clean.audit
    return person


@transaction.atomic
def household_create(
    *, actor, region: Region, address: str, head: PersonInput, members=(), on=None
) -> Household:
    """A new household with its head (and members), each checked and encrypted."""
    require_write(actor, region.code)
    _check_village(region)
    on = on or timezone.localdate()
    household = Household.objects.create(region=region, address=address.strip())
    head.relation = Relation.HEAD
    people = [_new_person(household, head, on=on)]
    for member in members:
        if member.relation == Relation.HEAD:
            raise ValidationError({"relation": _("一户只能有一位户主")})
        people.append(_new_person(household, member, on=on))
    household.head = people[0]
    household.save(update_fields=["head"])
    _refresh_household(household)
    Dwelling.objects.create(household=household, region=region)
    hooks.changed([household.pk])
    audit_record(
        actor=actor,
        action="create",
        entity="households.household",
        entity_id=household.pk,
        region_code=region.code,
        changes={
            "address": [None, household.address],
            "members": [None, [p.audit_values for p in people]],
        },
    )
    return household


@transaction.atomic
def household_update(
    *, actor, household: Household, address: str | None = None, region: Region | None = None
) -> Household:
    require_write(actor, household.region_id)
    _require_open(household)
    before = snapshot(household, HOUSEHOLD_FIELDS)
    if address is not None:
        household.address = address.strip()
    if region is not None and region.code != household.region_id:
        require_write(actor, region.code)
        _check_village(region)
        household.region = region
        household.members.update(region=region)
        CategoryGrant.objects.filter(
            Q(household=household) | Q(person__household=household)
        ).update(region=region)
        Dwelling.objects.filter(household=household).update(region=region)
    changes = diff(before, snapshot(household, HOUSEHOLD_FIELDS))
    if changes:
        household.save(update_fields=["address", "region", "updated_at"])
        if "region" in changes:
            hooks.changed([household.pk])
        audit_record(
            actor=actor,
            action="update",
            entity="households.household",
            entity_id=household.pk,
            region_code=household.region_id,
            changes=changes,
        )
    return household


def _locked(household: Household) -> Household:
    """The household row again, locked: of two clerks closing or reopening it, the second
    waits and then sees what the first did."""
    return Household.objects.select_for_update().get(pk=household.pk)


@transaction.atomic
def household_close(
    *, actor, household: Household, reason: str, on: datetime.date | None = None
) -> Household:
    """销户: close a household none of whose members lives here any more. It leaves the
    household list, the campaigns still running and the relief rolls made after ``on``."""
    require_write(actor, household.region_id)
    current = _locked(household)
    _require_open(current)
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("请填写销户原因，如“全户迁出”“户内人员均已故”")})
    present = list(current.members.filter(status__in=PRESENT).values_list("name", flat=True))
    if present:
        raise ValidationError(
            _("该户尚有在册人员（%(names)s）：请先办理迁移，或把其状态改为已迁出、已故")
            % {"names": "、".join(present)}
        )
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError({"on": _("销户日期 %(date)s 晚于今天") % {"date": on.isoformat()}})
    _check_close_on(current, on)
    household.closed_on, household.closed_reason = on, reason
    household.save(update_fields=["closed_on", "closed_reason", "updated_at"])
    hooks.changed([household.pk])
    audit_record(
        actor=actor,
        action="close_household",
        entity="households.household",
        entity_id=household.pk,
        region_code=household.region_id,
        changes={"closed_on": [None, on.isoformat()], "closed_reason": [None, reason]},
    )
    return household


def _check_close_on(household: Household, on: datetime.date) -> None:
    """A household cannot close before the last arrival, departure or change of head in its
    history: it would have been closed while people still came and went."""
    events = Membership.objects.filter(household=household)
    joined = events.order_by("-joined_on", "-id").values_list("joined_on", "person__name", "reason")
    left = (
        events.filter(left_on__isnull=False)
        .order_by("-left_on", "-id")
        .values_list("left_on", "person__name", "reason")
    )
    arrival, departure = joined.first(), left.first()
    if arrival is None:
        return
    # On the same day a departure follows the arrival.
    left_last = departure is not None and departure[0] >= arrival[0]
    since, name, reason = departure if left_last else arrival
    if reason == RELATION_CHANGE:
        message = _("销户日期 %(date)s 早于本户的户主变更日期 %(since)s")
    elif left_last:
        message = _("销户日期 %(date)s 早于%(name)s迁出本户的日期 %(since)s")
    else:
        message = _("销户日期 %(date)s 早于%(name)s迁入本户的日期 %(since)s")
    if on < since:
        raise ValidationError(
            {"on": message % {"date": on.isoformat(), "name": name, "since": since.isoformat()}}
        )


@transaction.atomic
def household_reopen(*, actor, household: Household, reason: str) -> Household:
    """Undo a 销户 (closed by mistake, or a member came back): the household is current again."""
    require_write(actor, household.region_id)
    current = _locked(household)
    if not current.closed_on:
        raise ValidationError(_("该户未销户"))
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": _("请填写撤销原因")})
    before = [current.closed_on.isoformat(), current.closed_reason]
    household.closed_on, household.closed_reason = None, ""
    household.save(update_fields=["closed_on", "closed_reason", "updated_at"])
    hooks.changed([household.pk])
    audit_record(
        actor=actor,
        action="reopen_household",
        entity="households.household",
        entity_id=household.pk,
        region_code=household.region_id,
        changes={
            "closed_on": [before[0], None],
            "closed_reason": [before[1], None],
            "reason": [None, reason],
        },
    )
    return household


@transaction.atomic
def person_add(*, actor, household: Household, data: PersonInput, on=None) -> Person:
    require_write(actor, household.region_id)
    _require_open(household)
    if data.relation == Relation.HEAD and household.head_id:
        raise ValidationError({"relation": _("该户已有户主")})
    person = _new_person(household, data, on=on or timezone.localdate())
    if data.relation == Relation.HEAD:
        household.head = person
        household.save(update_fields=["head"])
    _refresh_household(household)
    audit_record(
        actor=actor,
        action="create",
        entity="households.person",
        entity_id=person.pk,
        region_code=household.region_id,
        changes={k: [None, v] for k, v in person.audit_values.items()}
        | {"household": [None, household.pk]},
    )
    return person


def _person_audit(person: Person) -> dict:
    return {
        "name": person.name,
        "id_number": mask_id_number(person.id_number),
        "phone": mask_phone(person.phone),
        "relation": person.relation,
        "status": person.status,
    }


@transaction.atomic
def person_update(*, actor, person: Person, data: PersonInput) -> Person:
    """Correct a person's details (name, ID number, phone, status, relation)."""
    require_write(actor, person.region_id)
    if (data.relation == Relation.HEAD) != (person.relation == Relation.HEAD):
        raise ValidationError({"relation": _("更换户主请在户页面办理“户主变更”")})
    if data.status in PRESENT and person.status not in PRESENT:
        _require_open(person.household, "status")
    clean = clean_person(data)
    new_id = clean.fields["id_hash"]
    if new_id != person.id_hash and Person.objects.filter(id_hash=new_id).exists():
        raise ValidationError(
            {
                "id_number": _("身份证号 %(masked)s 已登记给另一人")
                % {"masked": mask_id_number(clean.id_number)}
            }
        )
    changes = diff(_person_audit(person), clean.audit)
    # A corrected digit hidden by the mask is still a change worth recording.
    for key, hashed in (("id_number", "id_hash"), ("phone", "phone_hash")):
        if getattr(person, hashed) != clean.fields[hashed] and key not in changes:
            changes[key] = [clean.audit[key], clean.audit[key] + _("（已更正）")]
    if not changes:
        return person
    for key, value in clean.fields.items():
        setattr(person, key, value)
    person.save(update_fields=[*clean.fields, "updated_at"])
    if person.household_id:
        _refresh_household(person.household)
    audit_record(
        actor=actor,
        action="update",
        entity="households.person",
        entity_id=person.pk,
        region_code=person.region_id,
        changes=changes,
    )
    return person


# The reason of the membership records a change of head closes and opens. Stored as written
# (the history shows it as any other reason), so not translated when the record is made.
RELATION_CHANGE = "户主变更"


def _check_on(on: datetime.date, people, *, label: str) -> None:
    """A change dated in the future, or before someone joined their household, would leave
    a history in which a person leaves before arriving or lives in two households at once."""
    if on > timezone.localdate():
        raise ValidationError(
            {"on": _("%(label)s %(date)s 晚于今天") % {"label": label, "date": on.isoformat()}}
        )
    joined = {
        person: (since, reason)
        for person, since, reason in Membership.objects.filter(
            person__in=people, left_on__isnull=True
        ).values_list("person_id", "joined_on", "reason")
    }
    for person in people:
        since, reason = joined.get(person.pk, (None, ""))
        if since and on < since:
            # The record open now may start at a change of head, not at the arrival.
            message = (
                _("%(label)s %(date)s 早于%(name)s在现户的户主变更日期 %(since)s")
                if reason == RELATION_CHANGE
                else _("%(label)s %(date)s 早于%(name)s在现户的迁入日期 %(since)s")
            )
            raise ValidationError(
                {
                    "on": message
                    % {
                        "label": label,
                        "date": on.isoformat(),
                        "name": person.name,
                        "since": since.isoformat(),
                    }
                }
            )


def _check_new_head(household: Household, person: Person, *, field: str) -> None:
    if person.household_id != household.pk:
        raise ValidationError({field: _("%(name)s 不是本户成员") % {"name": person.name}})
    if person.status not in PRESENT:
        raise ValidationError(
            {
                field: _("%(name)s 的状态是“%(status)s”，不能作为户主")
                % {"name": person.name, "status": person.get_status_display()}
            }
        )


def _change_relation(person: Person, household: Household, relation: str, *, on) -> None:
    """A new relation in the same household: the history closes the record of the old one
    and opens one for the new, so that who was head on a given day stays answerable."""
    Membership.objects.filter(person=person, left_on__isnull=True).update(
        left_on=on, reason=RELATION_CHANGE
    )
    Membership.objects.create(
        person=person, household=household, relation=relation, joined_on=on, reason=RELATION_CHANGE
    )
    person.relation = relation
    person.save(update_fields=["relation", "updated_at"])


# A member's relation to the new head, by the new head's relation to the old one, then the
# member's (``head``: the old head). The registry files parents-in-law under 父母 (公公, 婆婆,
# 岳父, 岳母: roll.RELATION_WORDS), so the old head and his wife are the parents of his 儿媳,
# and his parents those of his wife. A pair not listed cannot be told from the two relations
# alone (the old head's sister to his son: aunt, a relation the roll has no word for): 其他.
_RELATION_TO_NEW_HEAD = {
    Relation.SPOUSE: {
        Relation.HEAD: Relation.SPOUSE,
        Relation.CHILD: Relation.CHILD,
        Relation.PARENT: Relation.PARENT,
        Relation.GRANDCHILD: Relation.GRANDCHILD,
        Relation.CHILD_IN_LAW: Relation.CHILD_IN_LAW,
    },
    Relation.CHILD: {
        Relation.HEAD: Relation.PARENT,
        Relation.SPOUSE: Relation.PARENT,
        Relation.CHILD: Relation.SIBLING,
        Relation.PARENT: Relation.GRANDPARENT,
    },
    Relation.CHILD_IN_LAW: {
        Relation.HEAD: Relation.PARENT,
        Relation.SPOUSE: Relation.PARENT,
    },
    Relation.PARENT: {
        Relation.HEAD: Relation.CHILD,
        Relation.SPOUSE: Relation.CHILD_IN_LAW,
        Relation.CHILD: Relation.GRANDCHILD,
        Relation.PARENT: Relation.SPOUSE,
        Relation.GRANDPARENT: Relation.PARENT,
        Relation.SIBLING: Relation.CHILD,
    },
    Relation.GRANDCHILD: {
        Relation.HEAD: Relation.GRANDPARENT,
        Relation.SPOUSE: Relation.GRANDPARENT,
    },
    Relation.GRANDPARENT: {
        Relation.HEAD: Relation.GRANDCHILD,
        Relation.SIBLING: Relation.GRANDCHILD,
    },
    Relation.SIBLING: {
        Relation.HEAD: Relation.SIBLING,
        Relation.PARENT: Relation.PARENT,
        Relation.GRANDPARENT: Relation.GRANDPARENT,
        Relation.SIBLING: Relation.SIBLING,
    },
}
# When no other child of the old head stays, his grandchildren can only be the children of the
# new head (his child, or his child's widowed spouse), and his 儿媳/女婿 the new head's spouse.
_NO_OTHER_CHILD = {
    Relation.CHILD: {Relation.GRANDCHILD: Relation.CHILD, Relation.CHILD_IN_LAW: Relation.SPOUSE},
    Relation.CHILD_IN_LAW: {Relation.GRANDCHILD: Relation.CHILD},
}


def suggested_relations(new_head: str, members: dict[int, str]) -> dict[int, str]:
    """户主变更: each member's relation to the new head, as far as it follows from the
    relations to the old one. ``new_head`` is the new head's relation to the old head;
    ``members`` maps each other member (the old head among them, as ``head``, while they
    stay) to theirs. Where the two relations cannot tell, 其他, for the clerk to correct:
    this is a suggestion (the form's initial values, the service's default), never a rule."""
    table = _RELATION_TO_NEW_HEAD.get(new_head, {})
    if Relation.CHILD not in members.values():
        table = table | _NO_OTHER_CHILD.get(new_head, {})
    return {pk: table.get(relation, Relation.OTHER) for pk, relation in members.items()}


# A refusal of one member's relation, keyed by the member: the page's select for them, the
# API's item of ``relations``.
RELATION_FIELD = "relation_%d"


def _remaining_members(household: Household, person: Person, old: Person | None) -> list[Person]:
    """Everyone still in the household (Person.household, 已故 and 已迁出 included: the roll
    lists them with a relation to its head) other than the new head and the old one."""
    heads = [p.pk for p in (person, old) if p is not None]
    return list(household.members.exclude(pk__in=heads).order_by("pk"))


def _member_relations(
    members: list[Person], given: dict[int, str], *, person: Person, old: Person | None
) -> dict[Person, str]:
    """Each remaining member's relation to the new head ``person``: as ``given``, else as
    suggested. Refused, on the member's field, when given for someone else or not a choice."""
    by_pk = {m.pk: m for m in members}
    errors = {}
    for pk, relation in given.items():
        if pk == person.pk:
            message = _("%(name)s 是新户主") % {"name": person.name}
        elif old is not None and pk == old.pk:
            message = _("原户主%(name)s与新户主的关系请在“原户主改为”中填写") % {"name": old.name}
        elif pk not in by_pk:
            message = _("该人员不是本户成员")
        elif relation == Relation.HEAD:
            message = _("一户只能有一位户主")
        elif relation not in Relation.values:
            message = _("与户主关系“%(value)s”不是可选值") % {"value": relation}
        else:
            continue
        errors[RELATION_FIELD % pk] = message
    if errors:
        raise ValidationError(errors)
    suggested = suggested_relations(person.relation, {m.pk: m.relation for m in members})
    return {m: given.get(m.pk, suggested[m.pk]) for m in members}


def _head_change(
    *,
    actor,
    household: Household,
    person: Person,
    old: Person | None,
    old_relation: str,
    on,
    relations: dict[int, str] | None = None,
) -> None:
    """Make ``person`` the head; ``old``, the head still in the household, takes
    ``old_relation``, and every other member the relation ``relations`` gives them,
    else the one suggested_relations derives. The callers have checked ``person`` and ``old``."""
    members = _remaining_members(household, person, old)
    changed = {
        member: relation
        for member, relation in _member_relations(
            members, relations or {}, person=person, old=old
        ).items()
        if relation != member.relation
    }
    _check_on(on, list(changed), label=_("变更日期"))
    relation_changes = [
        [{"name": m.name, "relation": m.relation} for m in changed],
        [{"name": m.name, "relation": relation} for m, relation in changed.items()],
    ]
    if old is not None:
        _change_relation(old, household, old_relation, on=on)
    for member, relation in changed.items():
        _change_relation(member, household, relation, on=on)
    _change_relation(person, household, Relation.HEAD, on=on)
    household.head = person
    household.save(update_fields=["head"])
    _refresh_household(household)
    hooks.changed([household.pk])
    changes = {
        "head_name": [old.name if old else None, person.name],
        "old_head_relation": [None, old_relation or None],
        "on": [None, on.isoformat()],
    }
    if changed:
        changes["relations"] = relation_changes
    audit_record(
        actor=actor,
        action="head_change",
        entity="households.household",
        entity_id=household.pk,
        region_code=household.region_id,
        changes=changes,
    )


@transaction.atomic
def household_head_change(
    *,
    actor,
    household: Household,
    person: Person,
    old_head_relation: str = "",
    relations: dict[int, str] | None = None,
    on: datetime.date | None = None,
) -> Household:
    """户主变更: a present member becomes the head; the old head, if still in the household,
    takes ``old_head_relation`` (their relation to the new head), and the other members
    (present or not) the relations ``relations`` gives ({person id: relation}), else the
    ones suggested_relations derives from their relations to the old head."""
    require_write(actor, household.region_id)
    # Two clerks changing the same head: the row lock makes the second wait, then see it.
    head_id = (
        Household.objects.select_for_update().values_list("head_id", flat=True).get(pk=household.pk)
    )
    if head_id != household.head_id:
        raise ValidationError({"person": _("该户户主刚被他人变更，请刷新后重试")})
    if head_id and person.pk == head_id:
        raise ValidationError({"person": _("%(name)s 已是户主") % {"name": person.name}})
    _require_open(household)
    _check_new_head(household, person, field="person")
    old = Person.objects.filter(pk=head_id, household=household).first() if head_id else None
    if old is not None and (
        old_head_relation not in Relation.values or old_head_relation == Relation.HEAD
    ):
        raise ValidationError(
            {"old_head_relation": _("请选择原户主%(name)s与新户主的关系") % {"name": old.name}}
        )
    on = on or timezone.localdate()
    _check_on(on, [p for p in (person, old) if p is not None], label=_("变更日期"))
    _head_change(
        actor=actor,
        household=household,
        person=person,
        old=old,
        old_relation=old_head_relation if old else "",
        on=on,
        relations=relations,
    )
    return household


@transaction.atomic
def person_move(
    *,
    actor,
    person: Person,
    household: Household,
    relation: str,
    on: datetime.date | None = None,
    reason: str = "",
    successor: Person | None = None,
    relations: dict[int, str] | None = None,
) -> Person:
    """Move a person to another household (迁移), keeping the history. Moving a head out
    of a household whose members stay may name ``successor``, the member who becomes its
    head (户主变更 in the same step, the other members taking ``relations`` to them as in
    household_head_change); without one the household is left without a head."""
    require_write(actor, person.region_id)
    require_write(actor, household.region_id)
    # Two clerks moving the same person: the row lock makes the second wait, then see the
    # move the first made, instead of leaving the person in two households.
    current = (
        Person.objects.select_for_update().values_list("household_id", flat=True).get(pk=person.pk)
    )
    if current != person.household_id:
        raise ValidationError({"household": _("此人刚被他人迁移，请刷新后重试")})
    if household.pk == person.household_id:
        raise ValidationError(
            {"household": _("此人已在该户；更换户主请在户页面办理“户主变更”")}
            if relation == Relation.HEAD
            else {"household": _("此人已在该户")}
        )
    if relation not in Relation.values:
        raise ValidationError(
            {"relation": _("与户主关系“%(value)s”不是可选值") % {"value": relation}}
        )
    if relation == Relation.HEAD and household.head_id:
        raise ValidationError({"relation": _("目标户已有户主")})
    _require_open(household, "household")
    on = on or timezone.localdate()
    _check_on(on, [person], label=_("迁移日期"))
    old = person.household
    if successor is not None:
        if old is None or old.head_id != person.pk:
            raise ValidationError({"successor": _("只有迁出户主时才需指定原户的新户主")})
        if successor.pk == person.pk:
            raise ValidationError({"successor": _("新户主应是留在原户的成员")})
        _check_new_head(old, successor, field="successor")
        _check_on(on, [successor], label=_("迁移日期"))
    elif relations:
        raise ValidationError({"successor": _("填写原户成员与新户主的关系时，须指定原户新户主")})
    Membership.objects.filter(person=person, left_on__isnull=True).update(left_on=on, reason=reason)
    Membership.objects.create(
        person=person, household=household, relation=relation, joined_on=on, reason=reason
    )
    Person.objects.filter(pk=person.pk).update(
        household=household, relation=relation, region=household.region
    )
    person.household, person.relation, person.region = household, relation, household.region
    if relation == Relation.HEAD:
        household.head = person
        household.save(update_fields=["head"])
    if old is not None:
        if old.head_id == person.pk:
            old.head = None
            old.save(update_fields=["head"])
        _refresh_household(old)
    _refresh_household(household)
    hooks.changed([old.pk if old else None, household.pk])
    audit_record(
        actor=actor,
        action="move",
        entity="households.person",
        entity_id=person.pk,
        region_code=household.region_id,
        changes={
            "household": [old.pk if old else None, household.pk],
            "relation": [None, relation],
            "reason": [None, reason],
        },
    )
    if successor is not None:
        _head_change(
            actor=actor,
            household=old,
            person=successor,
            old=None,
            old_relation="",
            on=on,
            relations=relations,
        )
    return person


@transaction.atomic
def category_grant(
    *,
    actor,
    category: Category,
    household: Household | None = None,
    person: Person | None = None,
    start: datetime.date,
    end: datetime.date | None = None,
    document: str = "",
    grade: str = "",
) -> CategoryGrant:
    target = household or person
    if (household is None) == (person is None):
        raise ValueError("give a household or a person")
    require_write(actor, target.region_id)
    if category.scope == CategoryScope.HOUSEHOLD and household is None:
        raise ValidationError(
            {"category": _("“%(name)s”是户类别，应认定给户") % {"name": category.name}}
        )
    if category.scope == CategoryScope.PERSON and person is None:
        raise ValidationError(
            {"category": _("“%(name)s”是人员类别，应认定给人") % {"name": category.name}}
        )
    _require_open(household or person.household)
    if end and end < start:
        raise ValidationError({"end": _("终止日期不能早于起始日期")})
    if start > timezone.localdate():
        raise ValidationError(
            {"start": _("起始日期 %(date)s 晚于今天") % {"date": start.isoformat()}}
        )
    grade = grade.strip()
    if category.has_grade and not grade:
        raise ValidationError({"grade": _("“%(name)s”须填写等级") % {"name": category.name}})
    if refused := grade_refusal(category.name, category.has_grade, grade):
        raise ValidationError({"grade": refused})
    overlapping = CategoryGrant.objects.filter(
        category=category, household=household, person=person
    ).filter(Q(end__isnull=True) | Q(end__gte=start))
    if end:
        overlapping = overlapping.filter(start__lte=end)
    if overlapping.exists():
        raise ValidationError({"start": _("该时段已认定为“%(name)s”") % {"name": category.name}})
    grant = CategoryGrant.objects.create(
        category=category,
        household=household,
        person=person,
        region_id=target.region_id,
        start=start,
        end=end,
        document=document.strip(),
        grade=grade,
    )
    hooks.changed([household.pk if household else person.household_id])
    audit_record(
        actor=actor,
        action="grant",
        entity="households.categorygrant",
        entity_id=grant.pk,
        region_code=target.region_id,
        changes={
            "category": [None, category.code],
            "start": [None, start.isoformat()],
            "end": [None, end.isoformat() if end else None],
            "document": [None, document],
            "household": [None, household.pk if household else None],
            "person": [None, person.pk if person else None],
        },
    )
    return grant


@transaction.atomic
def category_end(
    *, actor, grant: CategoryGrant, end: datetime.date, reason: str = ""
) -> CategoryGrant:
    require_write(actor, grant.region_id)
    if end < grant.start:
        raise ValidationError(
            {"end": _("终止日期不能早于起始日期 %(start)s") % {"start": grant.start.isoformat()}}
        )
    # Compare-and-set: of two clerks ending the same grant, one wins and the other is told.
    if not CategoryGrant.objects.filter(pk=grant.pk, end__isnull=True).update(
        end=end, end_reason=reason
    ):
        raise ValidationError({"end": _("该认定已经终止")})
    grant.end, grant.end_reason = end, reason
    hooks.changed([grant.household_id or grant.person.household_id])
    audit_record(
        actor=actor,
        action="end",
        entity="households.categorygrant",
        entity_id=grant.pk,
        region_code=grant.region_id,
        changes={"end": [None, end.isoformat()], "end_reason": [None, reason]},
    )
    return grant


@transaction.atomic
def dwelling_assess(
    *,
    actor,
    household: Household,
    grade: str,
    assessed_on: datetime.date,
    appraiser: str = "",
    cause: str = "",
    ground_floor_flooded: bool = False,
) -> Dwelling:
    """Record a safety assessment; the dwelling shows the latest, the history keeps all."""
    require_write(actor, household.region_id)
    _require_open(household)
    if grade not in SafetyGrade.values:
        raise ValidationError(
            {"grade": _("危房等级“%(value)s”不存在，应为 A、B、C 或 D") % {"value": grade}}
        )
    if cause not in DamageCause.values:
        raise ValidationError({"cause": _("受损原因“%(value)s”不是可选值") % {"value": cause}})
    if assessed_on > timezone.localdate():
        raise ValidationError(
            {"assessed_on": _("鉴定日期 %(date)s 晚于今天") % {"date": assessed_on.isoformat()}}
        )
    dwelling, _created = Dwelling.objects.select_for_update().get_or_create(
        household=household, defaults={"region": household.region}
    )
    Assessment.objects.create(
        dwelling=dwelling,
        grade=grade,
        assessed_on=assessed_on,
        appraiser=appraiser,
        cause=cause,
        ground_floor_flooded=ground_floor_flooded,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    before = snapshot(dwelling, DWELLING_FIELDS)
    latest = dwelling.assessments.order_by("-assessed_on", "-id").first()
    for name in DWELLING_FIELDS:
        setattr(dwelling, name, getattr(latest, name))
    changes = diff(before, snapshot(dwelling, DWELLING_FIELDS))
    dwelling.save(update_fields=DWELLING_FIELDS)
    audit_record(
        actor=actor,
        action="assess",
        entity="households.dwelling",
        entity_id=dwelling.pk,
        region_code=household.region_id,
        changes=changes or {"grade": [dwelling.grade, grade]},
    )
    return dwelling


@transaction.atomic
def personal_reveal(*, actor, person: Person, fields=("id_number", "phone")) -> dict[str, str]:
    """The full ID number and phone of one person, for a user allowed to see them; each
    reveal is an audit row (个人信息保护法: every full view leaves a trace)."""
    require_personal(actor)
    if not actor.reaches(person.region_id):
        raise ValidationError(_("该人员不在您的管辖范围内"))
    values = {name: getattr(person, name) for name in fields}
    audit_record(
        actor=actor,
        action="view_personal",
        entity="households.person",
        entity_id=person.pk,
        region_code=person.region_id,
        changes={name: [None, "(已查看)"] for name in fields},
    )
    return values


def find_person_by_id_number(number: str):
    return Person.objects.filter(id_hash=id_hash(number)).first()


def personal_data_rotate(*, actor=None, rehash: bool = False, batch: int = 2000) -> dict[str, int]:
    """Re-encrypt every person's ID number and phone under the current key (and, with
    ``rehash``, recompute their keyed hashes under the current hash key). Batches commit one by
    one, so a long run can be stopped and started again; see docs/personal-data.md."""
    counts = {"checked": 0, "reencrypted": 0}
    last = 0
    current = keyring().current
    while True:
        with transaction.atomic():
            people = list(Person.objects.filter(pk__gt=last).order_by("pk")[:batch])
            if not people:
                break
            changed = []
            for person in people:
                stale = any(
                    blob and key_id(blob) != current
                    for blob in (person.id_cipher, person.phone_cipher)
                )
                if stale or rehash:
                    number, phone = person.id_number, person.phone
                    person.id_cipher = encrypt(number) if number else None
                    person.phone_cipher = encrypt(phone) if phone else None
                    if rehash:
                        person.id_hash = id_hash(number) if number else None
                        person.id_tail_hash = keyed_hash(number[-4:], "id-tail") if number else None
                        person.phone_hash = phone_hash(phone) if phone else None
                        person.phone_tail_hash = (
                            keyed_hash(phone[-4:], "phone-tail") if phone else None
                        )
                    changed.append(person)
            Person.objects.bulk_update(changed, ROTATED_FIELDS if rehash else ROTATED_FIELDS[:2])
            counts["checked"] += len(people)
            counts["reencrypted"] += len(changed)
            last = people[-1].pk
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="rotate_keys",
            entity="households.person",
            changes={
                "reencrypted": [None, counts["reencrypted"]],
                "rehash": [None, rehash],
                "key": [None, current],
            },
        )
    return counts


ROTATED_FIELDS = [
    "id_cipher",
    "phone_cipher",
    "id_hash",
    "id_tail_hash",
    "phone_hash",
    "phone_tail_hash",
]
