"""Domain rules. No Flask request objects here: callers pass what the rule needs."""
