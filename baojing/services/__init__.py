"""Business rules as plain functions. Views call them after parsing; they flush, never commit."""


class RuleViolation(Exception):
    """Input that breaks a business rule; errors maps form field names to messages."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class Conflict(Exception):
    """Someone else saved the record first; current holds their values."""

    def __init__(self, current: dict, version: int):
        super().__init__("record changed")
        self.current = current
        self.version = version


class DuplicateRequest(Exception):
    """An idempotency key already used for something else (HTTP 409)."""
