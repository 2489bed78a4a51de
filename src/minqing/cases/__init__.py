"""The case ledger (整改台账): needs, complaints and disputes by level, category and deadline (issue 5)."""
