from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from minqing.accounts.services import user_update
from minqing.audit.context import origin
from minqing.audit.models import AppendOnlyError, AuditLog
from minqing.audit.services import audit_record, diff, snapshot
from minqing.testing import PASSWORD


@pytest.fixture
def row(cast):
    return audit_record(
        actor=cast.admin,
        action="update",
        entity="accounts.user",
        entity_id=cast.village.pk,
        region_code="130681107228",
        changes={"phone": ["", "13800000000"]},
    )


def stored(row) -> AuditLog:
    return AuditLog.objects.get(pk=row.pk)


# Append-only in the application


def test_saving_an_existing_row_is_refused(row):
    row.action = "delete"

    with pytest.raises(AppendOnlyError, match="只能追加"):
        row.save()
    assert stored(row).action == "update"


def test_deleting_a_row_is_refused(row):
    with pytest.raises(AppendOnlyError, match="不能删除"):
        row.delete()
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_updating_through_a_queryset_is_refused(row):
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.filter(pk=row.pk).update(action="delete")
    assert stored(row).action == "update"


def test_deleting_through_a_queryset_is_refused(row):
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        AuditLog.objects.all().delete()
    assert AuditLog.objects.filter(pk=row.pk).exists()


# Append-only in the database


def test_raw_sql_update_is_refused_by_the_database(row):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditlog SET action = %s, actor_name = %s WHERE id = %s",
            ["delete", "某人", row.pk],
        )
    assert (stored(row).action, stored(row).actor_name) == ("update", "张建国")


def test_raw_sql_delete_is_refused_by_the_database(row):
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditlog WHERE id = %s", [row.pk])
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_emptying_the_whole_log_is_refused_by_the_database(row):
    # PostgreSQL's TRUNCATE skips row triggers; SQLite's unfiltered DELETE is its "truncate".
    sql = "TRUNCATE audit_auditlog" if connection.vendor == "postgresql" else None
    sql = sql or "DELETE FROM audit_auditlog"
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    assert AuditLog.objects.filter(pk=row.pk).exists()


def test_raw_sql_insert_is_still_allowed(row):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditlog (at, actor_name, source, entity, entity_id, action,"
            " region_code, changes) VALUES (%s, '', 'system', 'accounts.user', '1', 'login', '',"
            " '{}')",
            [datetime(2024, 3, 1, tzinfo=UTC)],
        )
    assert AuditLog.objects.filter(action="login", entity_id="1").count() == 1


# audit_record


def test_a_row_records_the_actor_and_their_name_at_the_time(cast, row):
    user_update(actor=cast.admin, user=cast.admin, full_name="张建军")

    assert stored(row).actor == cast.admin
    assert stored(row).actor_name == "张建国"
    latest = AuditLog.objects.filter(entity_id=str(cast.admin.pk)).latest("id")
    assert latest.actor_name == "张建军"
    assert latest.changes == {"full_name": ["张建国", "张建军"]}


def test_a_row_without_an_actor_is_the_system(db):
    row = audit_record(actor=None, action="load", entity="regions.edition", entity_id=2023)

    assert (row.actor, row.actor_name, row.source, row.ip) == (None, "", "system", None)
    assert row.entity_id == "2023"
    assert row.changes == {}


def test_a_row_takes_its_source_from_the_context(cast):
    with origin("import"):
        row = audit_record(actor=cast.village, action="create", entity="households.household")

    assert (row.source, row.ip, row.actor_name) == ("import", None, "陈立军")
    after = audit_record(actor=cast.village, action="create", entity="households.household")
    assert after.source == "system"


def test_a_row_takes_the_ip_from_the_context(cast):
    with origin("web", "10.1.2.3"):
        row = audit_record(actor=cast.admin, action="update", entity="accounts.user")

    assert (stored(row).source, stored(row).ip) == ("web", "10.1.2.3")


def test_nested_contexts_restore_the_outer_source(cast):
    with origin("command"):
        with origin("import"):
            inner = audit_record(actor=None, action="create", entity="x")
        outer = audit_record(actor=None, action="create", entity="x")

    assert (inner.source, outer.source) == ("import", "command")


# The edges set the source


def test_a_login_through_the_page_is_recorded_as_web_with_the_client_ip(cast, client):
    client.post(reverse("accounts:login"), {"username": "village", "password": PASSWORD})

    row = AuditLog.objects.get(action="login")
    assert (row.source, row.ip, row.actor) == ("web", "127.0.0.1", cast.village)


def test_a_write_through_the_api_is_recorded_as_api(cast, client_for):
    response = client_for(cast.village).post(
        "/api/me/tokens", {"name": "数据报送脚本"}, content_type="application/json"
    )

    assert response.status_code == 201
    row = AuditLog.objects.get(entity="accounts.apitoken")
    assert (row.source, row.actor_name, row.changes) == (
        "api",
        "陈立军",
        {"name": [None, "数据报送脚本"]},
    )


# diff and snapshot


def test_diff_lists_only_the_fields_that_changed():
    before = {"phone": "", "role": "village", "unit": None}
    after = {"phone": "13800000000", "role": "village", "unit": 7}

    assert diff(before, after) == {"phone": ["", "13800000000"], "unit": [None, 7]}


def test_diff_of_a_creation_and_a_deletion_uses_none_for_the_missing_side():
    assert diff({}, {"name": "民政局"}) == {"name": [None, "民政局"]}
    assert diff({"name": "民政局"}, {}) == {"name": ["民政局", None]}
    assert diff({"name": "民政局"}, {"name": "民政局"}) == {}


def test_snapshot_reads_foreign_keys_as_ids_and_other_values_as_json(cast):
    cast.village.last_login = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)

    values = snapshot(cast.village, ["full_name", "unit", "is_active", "last_login"])

    assert values == {
        "full_name": "陈立军",
        "unit": None,
        "is_active": True,
        "last_login": "2024-03-01 08:30:00+00:00",
    }
