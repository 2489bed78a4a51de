"""The life of a case as data: which moves exist, from which statuses, to which status, and
who may make them. ``services._apply`` is the one entry point that reads this table."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Cap, Role
from minqing.cases.models import LEVEL_REACH, Status

S = Status
# Before the answer: what can still be sent back, escalated, merged.
WORKING = frozenset(
    {S.REGISTERED, S.ASSIGNED, S.ACCEPTED, S.IN_PROGRESS, S.SENT_BACK, S.ESCALATED, S.REOPENED}
)
OPEN = WORKING | {S.ANSWERED, S.VERIFIED}
# Roles that dispatch, close and merge the cases of their level (a paired cadre or a
# department handles cases, it does not run the ledger).
MANAGER_ROLES = frozenset({Role.COUNTY_ADMIN, Role.TOWNSHIP, Role.VILLAGE})


@dataclass(frozen=True)
class Move:
    label: str
    sources: frozenset[str]
    target: str | None  # None: the case keeps its status (supervision, extension, contact)
    who: frozenset[str]  # any of: manager, handler, verifier, supervisor


MOVES: dict[str, Move] = {
    "assign": Move(
        _("派单"),
        frozenset({S.REGISTERED, S.SENT_BACK, S.ESCALATED}),
        S.ASSIGNED,
        frozenset({"manager"}),
    ),
    "accept": Move(_("签收"), frozenset({S.ASSIGNED}), S.ACCEPTED, frozenset({"handler"})),
    "send_back": Move(_("退单"), frozenset({S.ASSIGNED}), S.SENT_BACK, frozenset({"handler"})),
    "start": Move(_("开始办理"), frozenset({S.ACCEPTED}), S.IN_PROGRESS, frozenset({"handler"})),
    "answer": Move(
        _("办结反馈"),
        frozenset({S.ACCEPTED, S.IN_PROGRESS, S.REOPENED}),
        S.ANSWERED,
        frozenset({"handler"}),
    ),
    "verify": Move(_("核查通过"), frozenset({S.ANSWERED}), S.VERIFIED, frozenset({"verifier"})),
    "verify_fail": Move(
        _("核查不通过"), frozenset({S.ANSWERED}), S.IN_PROGRESS, frozenset({"verifier"})
    ),
    "close": Move(_("销号"), frozenset({S.VERIFIED}), S.CLOSED, frozenset({"manager"})),
    "escalate": Move(_("升级"), WORKING, S.ESCALATED, frozenset({"manager", "handler"})),
    "merge": Move(_("合并为重复件"), OPEN, S.MERGED, frozenset({"manager"})),
    "reopen": Move(
        _("重新办理"),
        frozenset({S.ANSWERED, S.VERIFIED, S.CLOSED}),
        S.REOPENED,
        frozenset({"manager", "supervisor"}),
    ),
    "contact": Move(
        _("回访"),
        frozenset({S.ANSWERED, S.VERIFIED}),
        None,
        frozenset({"manager", "supervisor", "handler"}),
    ),
    "extend_request": Move(
        _("申请延期"),
        frozenset({S.ACCEPTED, S.IN_PROGRESS, S.REOPENED}),
        None,
        frozenset({"handler"}),
    ),
    "extend_decide": Move(
        _("审批延期"),
        frozenset({S.ACCEPTED, S.IN_PROGRESS, S.REOPENED}),
        None,
        frozenset({"manager"}),
    ),
    "supervise": Move(_("挂牌督办"), OPEN, None, frozenset({"supervisor"})),
    "attach": Move(_("上传附件"), OPEN, None, frozenset({"manager", "handler", "supervisor"})),
    "mediate": Move(_("记录调解"), OPEN | {S.CLOSED}, None, frozenset({"manager", "handler"})),
}


def is_manager(actor, case) -> bool:
    """Runs the ledger at the case's level: reaches its region from that level or above."""
    return (
        actor.role in MANAGER_ROLES
        and actor.can(Cap.WRITE)
        and actor.reaches(case.region_id)
        and len(actor.reach) <= LEVEL_REACH[case.level]
    )


def is_handler(actor, case) -> bool:
    if not actor.can(Cap.WRITE):
        return False
    if actor.pk == case.handler_id or (case.unit_id and actor.unit_id == case.unit_id):
        return True
    return is_manager(actor, case)


def is_supervisor(actor, case) -> bool:
    return actor.can(Cap.SUPERVISE) and actor.reaches(case.region_id)


def is_verifier(actor, case) -> bool:
    """Someone other than the person who handled and answered the case."""
    if actor.pk in (case.handler_id, case.answered_by_id):
        return False
    return is_manager(actor, case) or is_supervisor(actor, case)


CHECKS = {
    "manager": is_manager,
    "handler": is_handler,
    "verifier": is_verifier,
    "supervisor": is_supervisor,
}


def may(actor, case, name: str) -> bool:
    """Whether ``actor`` may make move ``name`` on ``case`` now (status and role)."""
    move = MOVES[name]
    if actor is None:
        return case.status in move.sources
    return case.status in move.sources and any(CHECKS[w](actor, case) for w in move.who)


def available_moves(actor, case) -> list[str]:
    return [name for name in MOVES if may(actor, case, name)]
