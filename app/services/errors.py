"""Domain results: a rule that refuses raises RuleViolation with translatable messages."""


class RuleViolation(Exception):
    """One or more field-level refusals: {field: message}."""

    def __init__(self, errors: dict):
        self.errors = {k: str(v) for k, v in errors.items()}
        super().__init__("；".join(self.errors.values()))


class PolicyDenied(Exception):
    def __init__(self, code: str, message):
        self.code = code
        self.message = str(message)
        super().__init__(self.message)
