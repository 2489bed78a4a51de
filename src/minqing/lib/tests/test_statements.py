import datetime
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from minqing.audit.models import AuditLog
from minqing.lib import statements
from minqing.lib.env import database_from_url


def test_insert_writes_what_the_orm_writes_and_reads_back_equal(db, cast):
    at = timezone.now() - datetime.timedelta(days=3)
    fast = statements.insert(
        AuditLog(
            at=at,
            actor=cast.admin,
            actor_name="张建国",
            source="api",
            entity="x.y",
            entity_id="7",
            action="create",
            region_code="130681",
            changes={"回合": [None, 2]},
        )
    )
    assert fast.pk and not fast._state.adding
    row = AuditLog.objects.get(pk=fast.pk)
    assert (row.at, row.actor_id, row.changes, row.ip) == (
        at,
        cast.admin.pk,
        {"回合": [None, 2]},
        None,
    )


def test_get_one_converts_values_and_misses_with_none(db, cast):
    got = statements.get_one(type(cast.admin), id=cast.admin.pk)
    assert got == cast.admin and got.is_active is True and got.date_joined == cast.admin.date_joined
    assert statements.get_one(type(cast.admin), id=-1) is None


def test_together_runs_every_statement_in_order_in_the_transaction(db, cast):
    rows = [AuditLog(actor=None, source="system", entity="t", action=str(n)) for n in range(3)]
    first = statements.insert(rows[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        statements.together(
            [
                statements.insert_statement(rows[1]),
                statements.insert_statement(rows[2]),
                ("INSERT INTO audit_auditlog (id) VALUES (%s)", [first.pk]),  # refused
            ]
        )
    # The failed group rolled back whole; the row before it is untouched.
    assert list(AuditLog.objects.filter(entity="t").values_list("action", flat=True)) == ["0"]
    statements.together([statements.insert_statement(r) for r in rows[1:]])
    assert sorted(AuditLog.objects.filter(entity="t").values_list("action", flat=True)) == [
        "0",
        "1",
        "2",
    ]


def test_postgresql_binds_on_the_server_unless_told_not_to():
    base = Path("/")
    on = database_from_url("postgresql://u@h:5432/n", base_dir=base)["OPTIONS"]
    assert on == {"server_side_binding": True, "prepare_threshold": None}
    off = database_from_url(
        "postgresql://u@h/n?prepare_threshold=3&server_side_binding=false&sslmode=require",
        base_dir=base,
    )["OPTIONS"]
    assert off == {"server_side_binding": False, "prepare_threshold": 3, "sslmode": "require"}
    with pytest.raises(ImproperlyConfigured, match="server_side_binding"):
        database_from_url("postgresql://u@h/n?server_side_binding=maybe", base_dir=base)


def test_get_each_reads_several_rows_in_one_statement_or_none(db, cast, django_assert_num_queries):
    user_model = type(cast.admin)
    with django_assert_num_queries(1):
        pair = statements.get_each(
            (user_model, {"id": cast.admin.pk}), (user_model, {"username": cast.village.username})
        )
    assert pair == (cast.admin, cast.village)
    assert pair[1].full_name == cast.village.full_name
    assert (
        statements.get_each((user_model, {"id": cast.admin.pk}), (user_model, {"id": -1})) is None
    )


def test_only_the_statements_built_here_are_prepared(db, cast):
    user_model = type(cast.admin)
    for _ in range(6):
        assert statements.get_one(user_model, id=cast.admin.pk) == cast.admin
        assert user_model.objects.filter(reach__startswith="1306").count() >= 1
    if connection.vendor != "postgresql":
        return  # SQLite has no prepared statements to see
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("accounts_user" in s and " t0" in s for s in prepared)
    assert not any("LIKE" in s for s in prepared)  # the ORM's filter: planned each time
