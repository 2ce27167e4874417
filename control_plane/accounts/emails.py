"""Validating and normalising account emails."""
from email_validator import EmailNotValidError, validate_email

from control_plane.errors import ApiError


def normalise_email(raw: str) -> str:
    try:
        checked = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ApiError(400, f"Invalid email address: {exc}", "invalid_email", "email") from exc
    # One account per address whatever its case: the whole address is compared lower-cased.
    return checked.normalized.lower()
