import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from minqing.audit.models import AuditLog
from minqing.lib.excel import write_xlsx
from minqing.relief import services
from minqing.relief.models import (
    Entitlement,
    ExclusiveClaim,
    Payment,
    ProgrammeKind,
    StockBalance,
    StockMove,
)
from minqing.relief.seeds import FLOOD_LINES, line_inputs
from minqing.relief.selectors import household_received

from .conftest import approved_list, build_village

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 64


def _entitlement(entitlement_list, household, code) -> Entitlement:
    return entitlement_list.entitlements.get(household=household, line__code=code)


def _balance(village, material) -> Decimal:
    return StockBalance.objects.get(depot=village.depot, material=material).quantity


def test_handing_over_goods_issues_stock_and_records_who_and_proof(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    payment = services.payment_handover(
        actor=cast.village,
        entitlement=_entitlement(entitlement_list, village.d, "d_sand"),
        receiver="王大山",
        proof="thumbprint",
        photo=PNG,
        depot=village.depot,
    )
    assert (payment.status, payment.paid_by, payment.receiver) == ("paid", cast.village, "王大山")
    assert payment.photo.endswith(".png")
    assert _balance(village, village.sand) == Decimal(80)
    assert StockMove.objects.get(payment=payment).quantity == Decimal(-20)
    audit = AuditLog.objects.get(entity="relief.payment", entity_id=str(payment.pk))
    assert audit.changes["version"] == [None, 1] and audit.actor == cast.village


def test_a_second_payment_is_refused_saying_by_whom_and_when(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    cash = _entitlement(entitlement_list, village.d, "winter_cash")
    services.payment_handover(
        actor=cast.village, entitlement=cash, receiver="王大山", proof="signature"
    )
    with pytest.raises(ValidationError, match="已于 2026-06-15 10:00:00 由 陈立军 现场发放"):
        services.payment_handover(
            actor=cast.admin, entitlement=cash, receiver="王大山", proof="signature"
        )
    # Nor through a correction list of the same cycle.
    correction = services.list_compute(
        actor=cast.admin,
        programme=village.flood,
        cycle=entitlement_list.cycle,
        corrects=entitlement_list,
        note="补录",
    )
    for to in ("reviewed",):
        services.list_transition(actor=cast.admin, entitlement_list=correction, to=to)
    services.list_transition(
        actor=cast.admin, entitlement_list=correction, to="notice", notice_days=1
    )
    correction.notice_from -= datetime.timedelta(days=1)
    correction.save(update_fields=["notice_from"])
    services.list_transition(actor=cast.admin, entitlement_list=correction, to="approved")
    with pytest.raises(ValidationError, match="不能重复发放"):
        services.payment_handover(
            actor=cast.admin,
            entitlement=_entitlement(correction, village.d, "winter_cash"),
            receiver="王大山",
            proof="signature",
        )
    assert Payment.objects.filter(household=village.d, line_code="winter_cash").count() == 1


def test_the_database_itself_refuses_a_second_payment(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    cash = _entitlement(entitlement_list, village.d, "winter_cash")
    first = services.payment_handover(
        actor=cast.village, entitlement=cash, receiver="王大山", proof="signature"
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.create(
            entitlement=cash,
            programme=first.programme,
            cycle=first.cycle,
            line_code="winter_cash",
            household=village.d,
            region_id=village.d.region_id,
            method="handover",
            status="paid",
            paid_at=first.paid_at,
        )


def _provincial_flood_programme(cast, village):
    """A province's one-off flood grant in the same exclusive group as the county's."""
    county = village.flood.region
    province = services.programme_create(
        actor=cast.admin,
        name="省级洪灾一次性救助",
        kind=ProgrammeKind.ONE_OFF,
        region=county,
        regions=[county],
        starts_on=datetime.date(2023, 9, 1),
        exclusive_group="flood2023",
    )
    rows = [r for r in FLOOD_LINES if r["code"] == "winter_cash"]
    services.ruleset_create(
        actor=cast.admin, programme=province, match="all", lines=line_inputs(rows)
    )
    return province


def test_two_exclusive_programmes_cannot_both_pay_one_household(cast, village):
    province = _provincial_flood_programme(cast, village)
    county_list = approved_list(cast.admin, village.flood)
    province_list = approved_list(cast.admin, province)
    services.payment_handover(
        actor=cast.village,
        entitlement=_entitlement(county_list, village.d, "winter_cash"),
        receiver="王大山",
        proof="signature",
    )
    # The same programme's other lines still pay.
    services.payment_handover(
        actor=cast.village,
        entitlement=_entitlement(county_list, village.d, "d_rebar"),
        receiver="王大山",
        proof="signature",
        depot=village.depot,
    )
    with pytest.raises(ValidationError, match="涿州市洪灾救助 “受灾户过冬补助1000元”已于"):
        services.payment_handover(
            actor=cast.admin,
            entitlement=_entitlement(province_list, village.d, "winter_cash"),
            receiver="王大山",
            proof="signature",
        )
    assert ExclusiveClaim.objects.get(household=village.d).programme == village.flood
    assert not Payment.objects.filter(programme=province).exists()


def test_stock_never_goes_negative_and_counts_record_their_reason(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    services.stock_count(
        actor=cast.admin,
        depot=village.depot,
        material=village.rebar,
        counted=1,
        reason="受潮锈蚀报损9吨",
    )
    with pytest.raises(
        ValidationError, match="刁窝镇救灾物资库 的钢筋库存不足：需要 2 吨，结存 1 吨"
    ):
        services.payment_handover(
            actor=cast.village,
            entitlement=_entitlement(entitlement_list, village.d, "d_rebar"),
            receiver="王大山",
            proof="signature",
            depot=village.depot,
        )
    assert not Payment.objects.exists()
    assert _balance(village, village.rebar) == Decimal(1)
    move = StockMove.objects.get(kind="count")
    assert (move.quantity, move.source) == (Decimal(-9), "受潮锈蚀报损9吨")
    with pytest.raises(ValidationError, match="账实不符，请填写差异原因"):
        services.stock_count(
            actor=cast.admin, depot=village.depot, material=village.rebar, counted=3, reason=""
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        StockBalance.objects.filter(depot=village.depot).update(quantity=-1)


def _result_file(rows) -> io.BytesIO:
    buffer = io.BytesIO()
    write_xlsx(buffer, ["流水号", "户主", "结果", "失败原因"], rows)
    buffer.seek(0)
    return buffer


def test_cash_goes_to_the_bank_and_its_result_file_comes_back(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    services.payment_handover(
        actor=cast.village,
        entitlement=_entitlement(entitlement_list, village.d, "winter_cash"),
        receiver="王大山",
        proof="signature",
    )
    batch = services.bank_batch_create(actor=cast.admin, entitlement_list=entitlement_list)
    sent = {p.household.head_name: p for p in batch.payments.select_related("household")}
    assert set(sent) == {"李二河", "赵小桥"}  # 王大山 was paid in person
    bad = _result_file(
        [
            [str(sent["李二河"].pk), "李二河", "成功", ""],
            ["99999", "某", "成功", ""],
            [str(sent["赵小桥"].pk), "赵小桥", "好", ""],
        ]
    )
    with pytest.raises(ValidationError) as refused:
        services.bank_result_import(actor=cast.admin, batch=batch, source=bad, filename="回盘.xlsx")
    assert "第 3 行 A 列：流水号“99999”不在本批次" in refused.value.messages
    assert "第 4 行 C 列：结果应为“成功”或“失败”，而不是“好”" in refused.value.messages
    assert batch.payments.filter(status="sent").count() == 2  # nothing changed
    good = _result_file(
        [
            [str(sent["李二河"].pk), "李二河", "成功", ""],
            [str(sent["赵小桥"].pk), "赵小桥", "失败", "账户已销户"],
        ]
    )
    result = services.bank_result_import(
        actor=cast.admin, batch=batch, source=good, filename="回盘.xlsx"
    )
    assert result == {"paid": 1, "failed": 1, "open": 0}
    assert Payment.objects.get(pk=sent["赵小桥"].pk).failure == "账户已销户"
    # The failed one can be paid again.
    again = services.bank_batch_create(actor=cast.admin, entitlement_list=entitlement_list)
    assert [p.household_id for p in again.payments.all()] == [village.b.pk]


def test_reconciling_waits_for_the_bank_then_sums_up_per_line(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    batch = services.bank_batch_create(actor=cast.admin, entitlement_list=entitlement_list)
    with pytest.raises(ValidationError, match="还有银行未回盘"):
        services.list_reconcile(actor=cast.admin, entitlement_list=entitlement_list)
    rows = [[str(p.pk), "", "成功", ""] for p in batch.payments.all()]
    services.bank_result_import(
        actor=cast.admin, batch=batch, source=_result_file(rows), filename="r.xlsx"
    )
    services.list_reconcile(actor=cast.admin, entitlement_list=entitlement_list)
    entitlement_list.refresh_from_db()
    assert entitlement_list.status == "reconciled"
    assert entitlement_list.summary["lines"]["winter_cash"] == {
        "granted": 3,
        "paid": 3,
        "failed": 0,
        "open": 0,
    }
    assert entitlement_list.summary["lines"]["d_sand"]["open"] == 1
    with pytest.raises(ValidationError, match="不能发放"):
        services.payment_handover(
            actor=cast.village,
            entitlement=_entitlement(entitlement_list, village.d, "d_sand"),
            receiver="王大山",
            proof="signature",
            depot=village.depot,
        )


def test_the_household_page_data_lists_what_it_received_with_rule_version(cast, village):
    entitlement_list = approved_list(cast.admin, village.flood)
    services.payment_handover(
        actor=cast.village,
        entitlement=_entitlement(entitlement_list, village.c, "c_sand"),
        receiver="李二河",
        proof="signature",
        depot=village.depot,
    )
    [payment] = household_received(cast.village, village.c)
    assert payment.programme.name == "涿州市洪灾救助"
    assert payment.entitlement.line.ruleset.version == 1
    assert payment.entitlement.line.quantity == Decimal(5)


# ---------------------------------------------------------------------------------------------
# Two clerks at the same moment, on a real database (threads, each its own connection).


def _race(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as error:
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.django_db(transaction=True)
def test_two_clerks_paying_one_household_at_once_one_wins(flushable_db):
    from minqing.testing import build_cast

    cast = build_cast()
    village = build_village(cast)
    entitlement_list = approved_list(cast.admin, village.flood)
    cash = _entitlement(entitlement_list, village.d, "winter_cash")
    outcomes = _race(
        [
            lambda: services.payment_handover(
                actor=cast.village, entitlement=cash, receiver="王大山", proof="signature"
            ),
            lambda: services.payment_handover(
                actor=cast.admin, entitlement=cash, receiver="王大山", proof="thumbprint"
            ),
        ]
    )
    paid = [o for o in outcomes if isinstance(o, Payment)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(paid) == 1 and len(refused) == 1, outcomes
    winner = paid[0].paid_by.display_name
    assert f"由 {winner} 现场发放，不能重复发放" in refused[0].messages[0]
    assert Payment.objects.filter(household=village.d, line_code="winter_cash").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_exclusive_programmes_paying_at_once_one_wins(flushable_db):
    from minqing.testing import build_cast

    cast = build_cast()
    village = build_village(cast)
    province = _provincial_flood_programme(cast, village)
    a = _entitlement(approved_list(cast.admin, village.flood), village.c, "winter_cash")
    b = _entitlement(approved_list(cast.admin, province), village.c, "winter_cash")
    outcomes = _race(
        [
            lambda: services.payment_handover(
                actor=cast.village, entitlement=a, receiver="李二河", proof="signature"
            ),
            lambda: services.payment_handover(
                actor=cast.admin, entitlement=b, receiver="李二河", proof="signature"
            ),
        ]
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["AlreadyPaid", "Payment"], outcomes
    assert Payment.objects.filter(household=village.c).count() == 1
    assert ExclusiveClaim.objects.filter(household=village.c).count() == 1
