"""On PostgreSQL, drop the ``varchar_pattern_ops`` copies of the person's four hash indexes:
ID numbers and phones, whole or by their last digits, are looked up by equal keyed hashes,
never by ``LIKE``, and a county's import writes 700k rows into each index."""

from django.db import migrations

from minqing.lib.migrations import drop_pattern_ops_indexes


class Migration(migrations.Migration):
    dependencies = [("households", "0006_household_serial_scans")]

    operations = [
        drop_pattern_ops_indexes(
            ("households_person_id_hash_8669a5c1_like", "households_person", "id_hash"),
            ("households_person_id_tail_hash_ee58026a_like", "households_person", "id_tail_hash"),
            ("households_person_phone_hash_f1ccaef1_like", "households_person", "phone_hash"),
            (
                "households_person_phone_tail_hash_9f59d59c_like",
                "households_person",
                "phone_tail_hash",
            ),
        )
    ]
