"""The audit trail's secret key, kept outside the database: whoever can write the database cannot seal a row.

``CASEFRAME_AUDIT_KEY`` (at least 32 characters, e.g. from a secret store) is used if set. Otherwise the key
lives in the file named by ``CASEFRAME_AUDIT_KEY_FILE`` (default ``caseframe-audit.key`` in the working
folder), which the server writes, readable by its owner only, the first time it needs one.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "CASEFRAME_AUDIT_KEY"
KEY_FILE_ENV = "CASEFRAME_AUDIT_KEY_FILE"
DEFAULT_KEY_FILE = "caseframe-audit.key"
MIN_LENGTH = 32

_cache: dict[tuple[str, str], bytes] = {}


class AuditKeyError(Exception):
    """The key cannot be had; the message says what to set, in one line."""


def key_file() -> Path:
    return Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE)


def load_key(*, create: bool = False) -> bytes:
    """The key; with ``create`` a missing key file is written with a new random key (the server does this,
    never ``caseframe audit verify``: a new key would not verify the rows sealed with the old one)."""
    value = os.environ.get(KEY_ENV, "")
    path = key_file()
    cached = _cache.get((value, str(path)))
    if cached is not None:
        return cached
    if value:
        if len(value) < MIN_LENGTH:
            raise AuditKeyError(f"{KEY_ENV} must be at least {MIN_LENGTH} characters long")
        key = value.encode()
    else:
        key = _from_file(path, create)
    _cache[(value, str(path))] = key
    return key


def _from_file(path: Path, create: bool) -> bytes:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        if not create:
            raise AuditKeyError(
                f"no audit key: set {KEY_ENV}, or {KEY_FILE_ENV} to the key file the server "
                f"uses (looked for {path.resolve()})"
            ) from None
        text = secrets.token_hex(32)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text + "\n")
            os.link(temp, path)  # appears whole or not at all; fails if another process was first
        except FileExistsError:
            return _from_file(path, False)
        except OSError as exc:
            raise AuditKeyError(f"cannot write the audit key file {path.resolve()}: {exc.strerror}") from None
        finally:
            temp.unlink(missing_ok=True)
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key file {path.resolve()}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise AuditKeyError(
            f"the audit key file {path.resolve()} is not text: it must hold the key as written by caseframe "
            "(64 hexadecimal characters)"
        ) from None
    if len(text) < MIN_LENGTH:
        raise AuditKeyError(f"the audit key file {path.resolve()} holds fewer than {MIN_LENGTH} characters")
    return text.encode()


def key_id(key: bytes) -> str:
    """A fingerprint naming the key on checkpoints, so a wrong key is reported as such, not as tampering."""
    return hmac.new(key, b"caseframe audit key id", hashlib.sha256).hexdigest()[:16]
