"""Relief and reconstruction: rule-based entitlements, distributions paid once, rebuilding, hazard sites (issue 6)."""
