"""Money: pricing a use, settling its charge (and the PI's approval), statements and subsidies."""
