"""Upkeep and compliance: the records' rules and change log, checks, annual records, assessment."""
