"""Outreach: campaigns, pairing (包联), the visit log (民情日志) and coverage (issue 4)."""
