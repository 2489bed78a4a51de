"""Every index on the busiest write paths earns its cost: a single-column index whose column
already leads a composite index is one more index written per row, and serves no lookup the
composite does not (migrations outreach 0003 and 0004, audit 0003); nor does PostgreSQL's
``varchar_pattern_ops`` copy of a text column's index, where nothing asks ``LIKE 'x%'``
(outreach 0004; the person's hash columns, households 0007)."""

import pytest
from django.db import connection

BUSIEST = ["outreach_visit", "outreach_enrolment", "audit_auditlog"]


@pytest.mark.parametrize("table", BUSIEST)
def test_no_single_column_index_repeats_a_composite_ones_lead(db, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = {n: c["columns"] for n, c in constraints.items() if c["index"] and not c["unique"]}
    leads = {columns[0] for columns in indexes.values() if len(columns) > 1}
    assert leads  # the composite indexes are there
    repeated = {n: c for n, c in indexes.items() if len(c) == 1 and c[0] in leads}
    assert repeated == {}


@pytest.mark.parametrize("table", [*BUSIEST, "households_person"])
def test_no_pattern_ops_index_on_postgresql(db, table):
    if connection.vendor != "postgresql":
        pytest.skip("varchar_pattern_ops indexes are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table])
        indexes = dict(cursor.fetchall())
    assert indexes  # the table's indexes are read
    # Django names its copies "<table>_<column>_<hash>_like"; an index made for a prefix
    # search on purpose (the person's name and initials) is named in the model.
    assert {n: d for n, d in indexes.items() if "pattern_ops" in d and n.endswith("_like")} == {}
