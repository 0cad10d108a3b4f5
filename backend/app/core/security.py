"""Password hashing (argon2 via pwdlib) and JWT access tokens (HS256 via PyJWT)."""
from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash

from app.core.config import get_settings

JWT_ALGORITHM = "HS256"
logger = logging.getLogger("taskpilot.security")
_password_hash = PasswordHash.recommended()
# Verified against when the email is unknown, so both failures cost the same time.
# (Precomputed with the same argon2 parameters, so importing this module stays cheap.)
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$xKK8/vwErQOHdYSFR/lpwQ$CpBv3S3pdGHPE0AXEpm3mTjzsCRMU6Bkg19zTS427Ag"


class InvalidToken(Exception):
    """Missing, malformed, tampered or expired token."""


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    return _password_hash.verify(password, password_hash)


@lru_cache
def _signing_secret() -> str:
    secret = get_settings().jwt_secret
    if not secret:
        # Only reachable in dev (prod refuses to start): tokens die with the process.
        logger.warning("JWT_SECRET is not set; using a random per-process secret (dev only)")
        secret = secrets.token_urlsafe(48)
    return secret


def create_access_token(user_id: int, *, expires_in: timedelta | None = None) -> str:
    now = datetime.now(UTC)
    lifetime = expires_in if expires_in is not None else timedelta(minutes=get_settings().jwt_expires_minutes)
    claims = {"sub": str(user_id), "iat": now, "exp": now + lifetime}
    return jwt.encode(claims, _signing_secret(), algorithm=JWT_ALGORITHM)


def user_from_token(token: str) -> int:
    """Return the user id in a valid access token; raise InvalidToken otherwise. No database access."""
    try:
        claims = jwt.decode(token, _signing_secret(), algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
        user_id = int(claims["sub"])
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        raise InvalidToken(str(error)) from error
    if user_id <= 0:
        raise InvalidToken("bad subject")
    return user_id


def reset_security_caches() -> None:
    """For tests that change JWT_SECRET between app instances."""
    _signing_secret.cache_clear()
