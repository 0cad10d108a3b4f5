"""Password hashing (argon2 via pwdlib) and JWT access tokens (HS256 via PyJWT)."""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash

from app.core.config import Settings

JWT_ALGORITHM = "HS256"
TOKEN_CACHE_SIZE = 4096  # verified tokens remembered per process
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


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    version: int  # the user's token version at issue time; logout bumps it (see services/sessions.py)
    expires_at: float  # POSIX seconds
    issued_at: float = 0.0  # POSIX seconds: when the user logged in (or signed up) to get this token


class AccessTokens:
    """Signs and verifies access tokens with the app's settings (one instance per app, in AppServices).

    Verifying costs an HMAC and a JSON parse per request, so verified claims are kept in a bounded
    LRU keyed by the token string. A cached token is still checked against its own `exp` on every
    use; revocation is checked by the caller against the user's current token version.
    """

    def __init__(self, settings: Settings, *, cache_size: int = TOKEN_CACHE_SIZE) -> None:
        secret = settings.jwt_secret
        if not secret:
            # Only reachable in dev (prod refuses to start): tokens die with the process.
            logger.warning("JWT_SECRET is not set; using a random per-process secret (dev only)")
            secret = secrets.token_urlsafe(48)
        self._secret = secret
        self.lifetime = timedelta(minutes=settings.jwt_expires_minutes)
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()
        self._cache_size = cache_size

    def issue(self, user_id: int, version: int = 0, *, expires_in: timedelta | None = None) -> str:
        now = datetime.now(UTC)
        claims = {"sub": str(user_id), "ver": version, "iat": now, "exp": now + (expires_in or self.lifetime)}
        return jwt.encode(claims, self._secret, algorithm=JWT_ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        """The claims of a valid, unexpired token; raise InvalidToken otherwise. No database access."""
        claims = self._cache.get(token)
        if claims is not None:
            if claims.expires_at <= time.time():
                del self._cache[token]
                raise InvalidToken("Signature has expired")
            self._cache.move_to_end(token)
            return claims
        claims = self._decode(token)
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def _decode(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(token, self._secret, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "sub"]})
            user_id = int(payload["sub"])
            version = int(payload.get("ver", 0))
            expires_at = float(payload["exp"])
            issued_at = float(payload.get("iat", 0))
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from error
        if user_id <= 0 or version < 0:
            raise InvalidToken("bad subject")
        return TokenClaims(user_id, version, expires_at, issued_at)
