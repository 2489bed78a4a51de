"""The demo county's year of cases: each case lives its life (dispatched, accepted, answered,
verified, called back, struck off; some sent back, extended, merged, supervised, reopened;
disputes mediated) on the deadlines the rules give, up to today. Rows are written in bulk with
their history, and ONE audit row records the load (entity ``cases.demo``). Cases still open
are then left to the real sweep, which marks the overdue ones and escalates by rule.

Deterministic for a seed (and a day); a rerun adds nothing."""

import datetime
import random
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from minqing.accounts.models import OrgUnit, User
from minqing.audit.services import audit_record
from minqing.cases import deadlines, services
from minqing.cases.figures import figures_rebuild
from minqing.cases.models import (
    Case,
    CaseCategory,
    CaseEvent,
    CaseLevel,
    CaseSequence,
    DeadlineRule,
    Dispute,
    DisputeParty,
    Extension,
    MediationSession,
    ReturnContact,
    Status,
    Supervision,
)
from minqing.households.models import Household

COUNTY = "130681"
PER_HOUSEHOLDS = 4  # one case a year for every four households
TEXTS = {
    "pollution": [
        "养殖场臭味扰民，夏天尤其严重",
        "河沟里有人倾倒生活垃圾",
        "砖厂粉尘大，晾晒衣物落灰",
        "夜间施工噪声影响休息",
    ],
    "safety": [
        "山坡出现裂缝，房后有滑坡危险",
        "老房子墙体开裂，雨季担心倒塌",
        "村口电线杆倾斜",
        "学校门口路段缺少减速带",
        "废弃机井没有盖板",
    ],
    "property": [
        "邻居借款三万元逾期不还",
        "相邻两户因排水沟发生争执",
        "兄弟分家对老宅分割有争议",
        "在工地打工被拖欠工资",
    ],
    "land": [
        "土地承包合同到期后对方不退地",
        "流转土地的租金迟迟未付",
        "林地边界与邻村有争议",
        "宅基地界线与邻居有争议",
    ],
    "demolition": ["征地补偿款与公示数额不一致", "安置房分配顺序有异议"],
    "order": ["村内两户因琐事打架", "老人接到诈骗电话被骗走积蓄", "夜间有人在村口聚集滋事"],
    "housing": ["洪水后房屋需要维修加固", "危房改造补助还没有到位", "冬季取暖设备损坏无力维修"],
    "relief": [
        "家中老人重病，申请低保",
        "突发火灾损失严重，申请临时救助",
        "残疾人两项补贴没有按时发放",
        "留守老人独居，生活不便",
    ],
    "utilities": [
        "自来水经常停水",
        "村东头的路灯坏了，晚上出行不便",
        "供电电压不稳，电器无法使用",
        "进村道路被洪水冲毁",
    ],
    "employment": ["希望就近找到工作", "想参加电工技能培训", "申请创业担保贷款"],
    "public_service": ["孩子上学路途远，希望有校车", "村卫生室缺少常用药", "医保报销比例有疑问"],
    "petition": ["反映征地补偿款未足额发放", "反映村务不公开", "对低保评定结果不服"],
}
DEPARTMENT_OF = {
    "relief": "民政局",
    "housing": "住房和城乡建设局",
    "safety": "应急管理局",
    "utilities": "水利局",
    "petition": "信访局",
    "land": "农业农村局",
    "demolition": "自然资源和规划局",
    "public_service": "教育局",
    "employment": "人力资源和社会保障局",
}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国秀英志强海燕立军明丽华伟芳娜敏静磊洋勇艳杰娟涛超霞"


@dataclass
class Life:
    """What the generator writes for one case."""

    case: Case
    events: list[tuple] = field(default_factory=list)  # (at, actor, action, from, to, note)
    extras: list = field(default_factory=list)  # (kind, data) written after the case


def _name(rng) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2))))


def _hours(rng, low, high) -> datetime.timedelta:
    return datetime.timedelta(hours=rng.uniform(low, high))


class _Demo:
    def __init__(self, seed: int, now: datetime.datetime):
        self.rng = random.Random(f"cases:{seed}")
        self.now = now
        self.rules = list(DeadlineRule.objects.select_related("category"))
        self.categories = list(
            CaseCategory.objects.filter(parent__isnull=False, active=True).select_related("parent")
        )
        self.units = {u.name: u for u in OrgUnit.objects.filter(region__code__startswith=COUNTY)}
        self.village_units = {u.region_id: u for u in self.units.values() if u.kind == "village"}
        self.township_units = {u.region_id: u for u in self.units.values() if u.kind == "township"}
        users = {
            u.username: u
            for u in User.objects.filter(
                username__in=["admin", "duchao", "shuangta", "wanquanzhuang", "baolian", "minzheng"]
            )
        }
        self.admin = users.get("admin")
        self.supervisor = users.get("duchao") or self.admin
        self.users = users

    def leader_for(self, region: str, level: str):
        if level == CaseLevel.COUNTY:
            return self.admin
        if region.startswith("130681001"):
            return self.users.get("shuangta") or self.admin
        if region.startswith("130681107"):
            return self.users.get("baolian") or self.admin
        return self.admin

    def unit_for(self, region: str, level: str, top: str):
        if level == CaseLevel.VILLAGE:
            return self.village_units.get(region)
        if level == CaseLevel.TOWNSHIP:
            return self.township_units.get(region[:9] + "000")
        return self.units.get(DEPARTMENT_OF.get(top, ""), self.units.get("涿州市民情活动办"))

    def live(self, case: Case, category: CaseCategory) -> Life:
        """Walk the case through its stages until today; each stage's deadline by the rule."""
        rng, now = self.rng, self.now
        life = Life(case)
        ev = life.events
        rule = deadlines.rule_for(case, self.rules)
        handler = self.users.get("wanquanzhuang") if case.region_id == "130681107228" else None
        actor = handler or case.leader
        ev.append((case.registered_at, actor, "register", "", Status.REGISTERED, ""))

        def stop(status, due):
            case.status = status
            try:
                fields = deadlines.due_fields(case, due, rule)
            except ValidationError:  # escalation would fall in a year not entered yet
                fields = {"due_at": due, "escalate_at": None, "sweep_at": due, "overdue": False}
            for key, value in fields.items():
                setattr(case, key, value)
            return life

        accept_due = deadlines.accept_due(rule, case.registered_at)
        case.due_at = accept_due
        assign_at = case.registered_at + _hours(rng, 0.3, 18)
        if assign_at > now:
            return stop(Status.REGISTERED, accept_due)
        case.assigned_at, case.handler = assign_at, handler
        ev.append((assign_at, case.leader, "assign", Status.REGISTERED, Status.ASSIGNED, ""))
        if rng.random() < 0.04:
            back = assign_at + _hours(rng, 1, 6)
            if back < now:
                case.sent_back_count = 1
                ev.append(
                    (back, None, "send_back", Status.ASSIGNED, Status.SENT_BACK, "不属于本单位职责")
                )
                assign_at = back + _hours(rng, 1, 8)
                ev.append(
                    (
                        assign_at,
                        case.leader,
                        "assign",
                        Status.SENT_BACK,
                        Status.ASSIGNED,
                        "重新派单",
                    )
                )
        accept_at = assign_at + _hours(rng, 0.5, 40 if rng.random() < 0.15 else 20)
        if accept_at > now:
            return stop(Status.ASSIGNED, accept_due)
        try:
            answer_due = deadlines.answer_due(rule, accept_at)
        except ValidationError:  # a deadline in a year nobody has entered yet
            return stop(Status.ASSIGNED, accept_due)
        case.accepted_at, case.accepted_on_time = accept_at, accept_at <= accept_due
        ev.append((accept_at, handler, "accept", Status.ASSIGNED, Status.ACCEPTED, ""))
        if rng.random() < 0.06:
            asked = accept_at + datetime.timedelta(days=rng.uniform(2, 6))
            if asked < now:
                try:
                    answer_due = deadlines.after_workdays(answer_due, 5)
                except ValidationError:
                    pass
                else:
                    case.extension_count = 1
                    life.extras.append(("extension", asked))
                    ev.append((asked, handler, "extend_request", "", "", "需协调多个部门"))
                    ev.append(
                        (
                            asked + _hours(rng, 2, 20),
                            case.leader,
                            "extend_decide",
                            "",
                            "",
                            "同意延期 5 个工作日",
                        )
                    )
        hard = 1.6 if rng.random() < 0.15 else 0.7
        answer_at = accept_at + datetime.timedelta(days=rng.uniform(1, 14) * hard)
        if case.kind == "dispute":
            life.extras.append(("dispute", accept_at, answer_at))
        if answer_at > now:
            return stop(Status.IN_PROGRESS if rng.random() < 0.7 else Status.ACCEPTED, answer_due)
        case.outcome = rng.choices(["solved", "explained", "helped", "by_law"], [70, 15, 10, 5])[0]
        case.answer = {
            "solved": "已协调解决",
            "explained": "已向群众解释政策",
            "helped": "已落实帮扶措施",
            "by_law": "已依法处理",
        }[case.outcome]
        case.answered_at, case.answered_by = answer_at, handler
        case.answered_on_time = answer_at <= answer_due
        ev.append((answer_at, handler, "answer", Status.IN_PROGRESS, Status.ANSWERED, case.answer))
        verify_at = answer_at + _hours(rng, 6, 72)
        if verify_at > now:
            return stop(Status.ANSWERED, None)
        verifier = self.supervisor if rng.random() < 0.4 else self.admin
        case.verified_at, case.verified_by = verify_at, verifier
        ev.append((verify_at, verifier, "verify", Status.ANSWERED, Status.VERIFIED, "现场核查"))
        contact_at = verify_at + _hours(rng, 2, 48)
        if contact_at > now:
            return stop(Status.VERIFIED, None)
        rating = rng.choices(["satisfied", "basic", "not"], [76, 18, 6])[0]
        exception = "诉求超出政策范围，已解释到位" if rating == "not" and rng.random() < 0.4 else ""
        case.last_rating = rating
        life.extras.append(("contact", contact_at, rating, verifier, exception))
        ev.append(
            (
                contact_at,
                verifier,
                "contact",
                "",
                "",
                {"satisfied": "满意", "basic": "基本满意", "not": "不满意"}[rating],
            )
        )
        if rating == "not" and not exception:
            case.reopened_count = 1
            case.verified_at = case.verified_by = None
            ev.append(
                (contact_at, verifier, "reopen", Status.VERIFIED, Status.REOPENED, "回访不满意")
            )
            try:
                return stop(Status.REOPENED, deadlines.answer_due(rule, contact_at))
            except ValidationError:
                return stop(Status.REOPENED, answer_due)
        close_at = contact_at + _hours(rng, 1, 24)
        if close_at > now:
            return stop(Status.VERIFIED, None)
        case.closed_at = close_at
        ev.append((close_at, case.leader, "close", Status.VERIFIED, Status.CLOSED, ""))
        return stop(Status.CLOSED, None)


def _places() -> list[tuple[str, int]]:
    return list(
        Household.objects.filter(region__code__startswith=COUNTY)
        .order_by("id")
        .values_list("region_id", "id")
    )


@transaction.atomic
def build_demo_cases(*, seed: int = 1) -> str:
    if Case.objects.filter(source_ref__startswith="demo:").exists():
        return "案件台账：演示案件已存在，未重复生成。"
    now = timezone.now()
    demo = _Demo(seed, now)
    rng = demo.rng
    places = _places()
    if not places or not demo.categories or demo.admin is None:
        return ""
    count = max(50, len(places) // PER_HOUSEHOLDS)
    # Threats to life are rare; petitions and disputes common enough to show.
    weights = [
        1 if c.code == "safety.life" else 4 if c.kind == "dispute" else 3 for c in demo.categories
    ]
    start = now - datetime.timedelta(days=365)
    moments = sorted(
        start + datetime.timedelta(seconds=rng.uniform(0, 365 * 86400)) for _ in range(count)
    )
    lives: list[Life] = []
    sequence: dict[int, int] = {}
    for moment in moments:
        day = timezone.localtime(moment)
        moment = day.replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59))
        if moment > now:
            moment = now - datetime.timedelta(minutes=5)
        region, household = rng.choice(places)
        category = rng.choices(demo.categories, weights)[0]
        level = rng.choices(
            [CaseLevel.VILLAGE, CaseLevel.TOWNSHIP, CaseLevel.COUNTY], [65, 25, 10]
        )[0]
        if category.kind == "petition":
            source = "petition"
        else:
            source = rng.choices(
                ["visit", "walk_in", "hotline", "inspection", "supervision"], [40, 20, 20, 12, 8]
            )[0]
        year = day.year
        sequence[year] = sequence.get(year, 0) + 1
        text = rng.choice(TEXTS.get(category.parent.code, ["群众反映的问题"]))
        case = Case(
            number=f"{COUNTY}-{year}-{sequence[year]:05d}",
            title=text[:100],
            text=text,
            source=source,
            source_ref=f"demo:{seed}",
            kind=category.kind,
            category=category,
            level=level,
            region_id=region,
            household_id=household if category.parent.code != "order" else None,
            public=rng.random() < 0.5,
            registered_at=moment,
            registered_by=demo.admin,
            leader=demo.leader_for(region, level),
            unit=demo.unit_for(region, level, category.parent.code),
        )
        if rng.random() < 0.04:
            # The same matter reported again from the same household: a duplicate (重复件).
            recent = [
                x
                for x in lives[-30:]
                if x.case.status != Status.MERGED and _still_open(x.case, moment)
            ]
            if recent:
                earlier = rng.choice(recent).case
                case.region_id, case.household_id = earlier.region_id, earlier.household_id
                case.category, case.kind = earlier.category, earlier.kind
                case.text = case.title = earlier.text
                lives.append(_merged(rng, case, earlier))
                continue
        lives.append(demo.live(case, category))
    _write(demo, lives, sequence)
    report = services.sweep()
    audit_record(
        actor=None,
        action="create",
        entity="cases.demo",
        region_code=COUNTY,
        changes={"cases": [None, len(lives)], "seed": [None, seed]},
    )
    statuses = {}
    for life in lives:
        statuses[life.case.status] = statuses.get(life.case.status, 0) + 1
    return (
        f"案件台账：生成 {len(lives):,} 件（已销号 {statuses.get(Status.CLOSED, 0):,} 件）；"
        f"{report.summary()}。"
    )


def _still_open(case: Case, moment) -> bool:
    return case.closed_at is None or case.closed_at > moment


def _merged(rng, case: Case, into: Case) -> Life:
    """A second report of the same matter, merged into the open case (重复件)."""
    at = case.registered_at + _hours(rng, 2, 30)
    case.status, case.merged_into_number = Status.MERGED, into.number
    life = Life(case)
    life.events = [
        (case.registered_at, case.leader, "register", "", Status.REGISTERED, ""),
        (at, case.leader, "merge", Status.REGISTERED, Status.MERGED, "同一事项重复反映"),
    ]
    return life


def _write(demo: _Demo, lives: list[Life], sequence: dict[int, int]) -> None:
    rng = demo.rng
    for life in lives:
        life.case.version = len(life.events)
        if rng.random() < 0.04 and life.case.status != Status.MERGED:
            life.case.supervised = True
            life.extras.append(("supervise", life.case.registered_at + _hours(rng, 24, 96)))
    Case.objects.bulk_create([life.case for life in lives], batch_size=500)
    by_number = {life.case.number: life.case for life in lives}
    merged = [life.case for life in lives if getattr(life.case, "merged_into_number", None)]
    for case in merged:
        case.merged_into = by_number[case.merged_into_number]
    Case.objects.bulk_update(merged, ["merged_into"])
    for year, last in sequence.items():
        CaseSequence.objects.update_or_create(county=COUNTY, year=year, defaults={"last": last})
    events, contacts, extensions, supervisions = [], [], [], []
    for life in lives:
        case = life.case
        for at, actor, action, before, after, note in life.events:
            events.append(
                CaseEvent(
                    case=case,
                    at=at,
                    actor=actor,
                    actor_name=actor.display_name if actor else "系统",
                    action=action,
                    from_status=before,
                    to_status=after,
                    note=note,
                )
            )
        for extra in life.extras:
            kind = extra[0]
            if kind == "contact":
                _k, at, rating, by, exception = extra
                contacts.append(
                    ReturnContact(
                        case=case,
                        at=at,
                        by=by,
                        rating=rating,
                        method=rng.choice(["phone", "visit", "in_person"]),
                        exception_reason=exception,
                    )
                )
            elif kind == "extension":
                extensions.append(
                    Extension(
                        case=case,
                        workdays=5,
                        reason="需协调多个部门",
                        requested_by=case.leader,
                        requested_at=extra[1],
                        status="approved",
                        decided_by=demo.admin,
                        decided_at=extra[1] + datetime.timedelta(hours=6),
                    )
                )
            elif kind == "supervise":
                supervisions.append(
                    Supervision(
                        case=case,
                        by=demo.supervisor,
                        at=extra[1],
                        note="群众反映强烈，限期办结",
                        until=(extra[1] + datetime.timedelta(days=30)).date(),
                    )
                )
                events.append(
                    CaseEvent(
                        case=case,
                        at=extra[1],
                        actor=demo.supervisor,
                        actor_name=demo.supervisor.display_name,
                        action="supervise",
                        note="群众反映强烈，限期办结",
                    )
                )
            elif kind == "dispute":
                _mediate(demo, case, extra[1], extra[2], events)
    CaseEvent.objects.bulk_create(events, batch_size=1000)
    ReturnContact.objects.bulk_create(contacts, batch_size=1000)
    Extension.objects.bulk_create(extensions)
    Supervision.objects.bulk_create(supervisions)
    for case in Case.objects.filter(
        kind="dispute", source_ref__startswith="demo:", dispute__isnull=True
    ):
        Dispute.objects.create(case=case)
    # Written in bulk, not through the services: the figures' flags and tally from scratch.
    figures_rebuild()


def _mediate(demo: _Demo, case: Case, started, answered, events) -> None:
    rng, now = demo.rng, demo.now
    dispute = Dispute.objects.create(case=case)
    a, b = _name(rng), _name(rng)
    DisputeParty.objects.bulk_create(
        [
            DisputeParty(dispute=dispute, name=a, role="applicant"),
            DisputeParty(dispute=dispute, name=b, role="respondent"),
        ]
    )
    mediator = case.leader or demo.admin
    dispute.mediators.add(mediator)
    sessions = rng.randint(1, 3)
    span = max((min(answered, now) - started).total_seconds(), 3600)
    for i in range(sessions):
        held = started + datetime.timedelta(seconds=span * (i + 1) / (sessions + 1))
        if held > now:
            break
        MediationSession.objects.create(
            dispute=dispute,
            held_on=timezone.localtime(held).date(),
            place="村调解室",
            record=f"第{i + 1}次调解：双方陈述意见，调解员释法说理",
            recorded_by=mediator,
        )
        events.append(
            CaseEvent(
                case=case,
                at=held,
                actor=mediator,
                actor_name=mediator.display_name,
                action="mediate",
                note=f"第{i + 1}次调解",
            )
        )
    if answered > now:
        return
    result = rng.choices(["agreement", "no_agreement", "referred"], [88, 8, 4])[0]
    signed = timezone.localtime(answered).date()
    dispute.result, dispute.result_on = result, signed
    if result == "agreement":
        dispute.facts = case.text
        dispute.terms = f"{b}于约定期限内履行，{a}不再就此事主张其他权利"
        dispute.performance_method = rng.choice(["一次性付清", "分期履行", "自行拆除恢复原状"])
        dispute.perform_by = signed + datetime.timedelta(days=rng.randint(7, 60))
        dispute.signed_on = signed
        dispute.signatures = f"{a}、{b}、调解员{mediator.display_name}、村人民调解委员会（印）"
        if rng.random() < 0.25 and signed + datetime.timedelta(days=25) < timezone.localdate():
            dispute.judicial_applied_on = signed + datetime.timedelta(days=rng.randint(1, 25))
            dispute.judicial_confirmed = True
        dispute.performance = "pending"
        if dispute.perform_by < timezone.localdate():
            dispute.performance = rng.choices(["performed", "partly", "not"], [85, 10, 5])[0]
            dispute.performance_checked_on = dispute.perform_by + datetime.timedelta(days=3)
    dispute.save()
    Case.objects.filter(pk=case.pk).update(mediation=result)
