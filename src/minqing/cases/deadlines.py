"""Deadlines from the rules: which rule applies to a case, and the dates it gives. Working
days come from minqing.lib.workdays; a year it does not know is a Chinese error."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from minqing.cases.models import CaseLevel, DeadlineRule, HolidayDay, HolidayYear, Unit
from minqing.lib import workdays


def rule_for(case, rules: list[DeadlineRule] | None = None) -> DeadlineRule:
    """The most specific rule: subcategory, then top category, then any; then kind; then
    level."""
    rules = rules if rules is not None else list(DeadlineRule.objects.all())
    category = case.category

    def score(rule):
        if rule.category_id == category.pk:
            cat = 4
        elif rule.category_id and rule.category_id == category.parent_id:
            cat = 2
        elif rule.category_id is None:
            cat = 0
        else:
            return None
        if rule.kind and rule.kind != case.kind:
            return None
        if rule.level and rule.level != case.level:
            return None
        return (cat, bool(rule.kind), bool(rule.level))

    scored = [(s, rule) for rule in rules if (s := score(rule)) is not None]
    if not scored:
        raise ValidationError("没有适用于该案件的办理时限规则，请县级管理员先设置默认规则")
    return max(scored, key=lambda pair: pair[0])[1]


def _end_of(day: datetime.date) -> datetime.datetime:
    return workdays.end_of_day(day, timezone.get_current_timezone())


def _local(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment).date()


def checked(compute):
    """Turn the calendar's unknown-year error into a refusal the user can read."""

    def wrapper(*args, **kwargs):
        try:
            return compute(*args, **kwargs)
        except workdays.UnknownYear as error:
            raise ValidationError(str(error)) from None

    return wrapper


@checked
def after_workdays(start: datetime.datetime, count: int) -> datetime.datetime:
    """The end of the ``count``-th working day after ``start``'s day."""
    return _end_of(workdays.add_workdays(_local(start), count))


@checked
def accept_due(rule: DeadlineRule, start: datetime.datetime) -> datetime.datetime:
    if rule.accept_unit == Unit.MINUTES:
        return start + datetime.timedelta(minutes=rule.accept_limit)
    return _end_of(workdays.add_workdays(_local(start), rule.accept_limit))


@checked
def answer_due(rule: DeadlineRule, start: datetime.datetime) -> datetime.datetime:
    return _end_of(workdays.add_workdays(_local(start), rule.answer_workdays))


@checked
def escalate_at(rule: DeadlineRule, due: datetime.datetime, level: str):
    if rule.escalate_after_workdays is None or level == CaseLevel.COUNTY:
        return None
    return _end_of(workdays.add_workdays(_local(due), rule.escalate_after_workdays))


def due_fields(case, due: datetime.datetime | None, rule: DeadlineRule | None = None) -> dict:
    """The deadline columns for a new current deadline (None: nothing is due)."""
    if due is None:
        return {"due_at": None, "escalate_at": None, "sweep_at": None, "overdue": False}
    escalate = escalate_at(rule or rule_for(case), due, case.level)
    return {"due_at": due, "escalate_at": escalate, "sweep_at": due, "overdue": False}


def holiday_source(year: int) -> dict[datetime.date, bool] | None:
    """The arrangement a county admin entered for ``year`` (registered in AppConfig.ready)."""
    if not HolidayYear.objects.filter(year=year).exists():
        return None
    return dict(HolidayDay.objects.filter(year_id=year).values_list("day", "workday"))
