"""Password hashing with argon2id."""
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_DUMMY = _hasher.hash("not a real password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, *, user_inputs: list[str] = ()) -> str | None:
    """Why a new password is not good enough, in words for the user; None when it is."""
    from zxcvbn import zxcvbn

    if len(password) < 12:
        return "Password must be 12 characters or more"
    if len(password) > 256:
        return "Password must be 256 characters or fewer"
    # zxcvbn knows common passwords, names, keyboard patterns and dates; the user's own details count too
    result = zxcvbn(password[:100], user_inputs=[u for u in user_inputs if u] + ["caseframe"])
    if result["score"] < 3:
        return ("Choose a password that is harder to guess: avoid common passwords, names and patterns. "
                "Three or four random words work well")
    return None
