"""Demo data for the fictitious university (SPEC §5)."""
