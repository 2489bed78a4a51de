"""Every index on the busiest write paths earns its cost: a single-column index whose column
already leads a composite index is one more index written per row, and serves no lookup the
composite does not (migrations outreach 0003, audit 0003)."""

import pytest
from django.db import connection


@pytest.mark.parametrize("table", ["outreach_visit", "audit_auditlog"])
def test_no_single_column_index_repeats_a_composite_ones_lead(db, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = {n: c["columns"] for n, c in constraints.items() if c["index"] and not c["unique"]}
    leads = {columns[0] for columns in indexes.values() if len(columns) > 1}
    assert leads  # the composite indexes are there
    repeated = {n: c for n, c in indexes.items() if len(c) == 1 and c[0] in leads}
    assert repeated == {}
