"""Password policy (SECURITY.md): length, not a common password, no composition rules."""

from functools import cache
from pathlib import Path

from flask_babel import gettext

MIN_LENGTH = 8
MIN_LENGTH_ADMIN = 12
MAX_LENGTH = 256  # long passphrases are welcome


@cache
def _common() -> frozenset[str]:
    path = Path(__file__).parent / "data" / "common-passwords.txt"
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def password_problem(password: str, username: str = "", is_admin: bool = False) -> str | None:
    """Return why `password` is refused, in the user's language, or None when it is acceptable."""
    minimum = MIN_LENGTH_ADMIN if is_admin else MIN_LENGTH
    if len(password) < minimum:
        return gettext("The password must have at least %(n)d characters.", n=minimum)
    if len(password) > MAX_LENGTH:
        return gettext("The password must have at most %(n)d characters.", n=MAX_LENGTH)
    lowered = password.lower()
    if lowered in _common() or len(set(lowered)) <= 2:
        return gettext("This password is too common; choose another.")
    if username and username.lower() in lowered:
        return gettext("The password must not contain the user name.")
    return None


def fab_validator(password: str) -> None:
    """FAB_PASSWORD_COMPLEXITY_VALIDATOR: the same policy in FAB's own user and password forms."""
    from flask_appbuilder.exceptions import PasswordComplexityValidationError

    problem = password_problem(password or "")
    if problem:
        raise PasswordComplexityValidationError(problem)
