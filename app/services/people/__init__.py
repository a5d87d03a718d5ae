"""People and accounts: registration, contracts, notifications and mail, identifiers."""
