"""Every index on the busiest write paths earns its cost: a single-column index whose column
already leads a composite index is one more index written per row, and serves no lookup the
composite does not (migrations outreach 0003, audit 0003)."""

import pytest
from django.db import connection


@pytest.mark.parametrize("table", ["outreach_visit", "audit_auditlog"])
def test_no_single_column_index_repeats_a_composite_ones_lead(db, table):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)
    indexes = [c for c in constraints.values() if c["index"] and not c["unique"]]
    leads = {c["columns"][0] for c in indexes if len(c["columns"]) > 1}
    single = {
        name: c["columns"][0]
        for name, c in constraints.items()
        if c["index"] and not c["unique"] and len(c["columns"]) == 1
    }
    assert leads  # the composite indexes are there
    assert {name: column for name, column in single.items() if column in leads} == {}
