"""Session revocation: a per-user token version, bumped by logout and checked on every request.

Every access token carries the user's token version at issue time (claim `ver`). Logout increments
`users.token_version` and, in the same transaction, NOTIFYs every replica, so all of them drop the
user's older tokens and close the user's open event streams.

Checking the version must not add a database round trip to every request (the list route's budget
is one query), so each process keeps the versions it has seen in a bounded cache that the NOTIFY
keeps current. The cache is trusted only while the event listener is connected: while it is not,
a revocation could be missed, so versions are read from the database and the cache is emptied
whenever the listener (re)connects.

Deleting a user row, however it happens (DELETE /api/auth/me, an operator's SQL), NOTIFYs the same
channel from a trigger (Alembic `0005_user_deletion_notify`) with `"deleted": true`: every replica then
remembers the user as gone, and a token of a deleted account answers 401 everywhere, SSE and MCP included.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable

from psycopg_pool import AsyncConnectionPool

from app.core.security import AccessTokens, InvalidToken, TokenClaims

REVOCATION_CHANNEL = "token_revocations"
VERSION_CACHE_SIZE = 100_000  # users per process; ~100 bytes each

_VERSION_SQL = "SELECT token_version FROM users WHERE id = %s"
_REVOKE_SQL = "UPDATE users SET token_version = token_version + 1 WHERE id = %s RETURNING token_version"
_NOTIFY_SQL = f"SELECT pg_notify('{REVOCATION_CHANNEL}', %s)"

logger = logging.getLogger("taskpilot.sessions")


class SessionRevoked(InvalidToken):
    """The token was valid but its user logged out since (or the account is gone)."""


class TokenVersions:
    """Current token version per user for this process (see the module docstring)."""

    def __init__(self, pool: AsyncConnectionPool, *, listening: Callable[[], bool], size: int = VERSION_CACHE_SIZE):
        self._pool = pool
        self._listening = listening
        self._versions: OrderedDict[int, int | None] = OrderedDict()
        self._size = size

    async def current(self, user_id: int) -> int | None:
        """The user's token version (None: no such user)."""
        if self._listening() and user_id in self._versions:
            return self._versions[user_id]
        async with self._pool.connection() as connection:
            row = await (await connection.execute(_VERSION_SQL, (user_id,), prepare=True)).fetchone()
        version = row[0] if row is not None else None
        if self._listening():
            self._remember(user_id, version, read=True)
        return version

    def _remember(self, user_id: int, version: int | None, *, read: bool = False) -> None:
        if user_id in self._versions:
            known = self._versions[user_id]
            if known is None and read:
                version = None  # a read that started before the account was deleted must not bring it back
            elif known is not None and version is not None and known > version:
                version = known  # a read that started before a revocation must not undo it
        self._versions[user_id] = version
        self._versions.move_to_end(user_id)
        if len(self._versions) > self._size:
            self._versions.popitem(last=False)

    def on_revoked(self, user_id: int, version: int | None) -> None:
        """A replica revoked the user's tokens up to `version`, or every token with None: the account is
        gone (NOTIFY, possibly from this process)."""
        self._remember(user_id, version)

    async def revoke(self, user_id: int) -> int:
        """End every token issued to the user so far (all replicas); returns the new version."""
        async with self._pool.connection() as connection, connection.transaction():
            row = await (await connection.execute(_REVOKE_SQL, (user_id,))).fetchone()
            if row is None:
                raise LookupError(user_id)
            await connection.execute(_NOTIFY_SQL, (json.dumps({"user_id": user_id, "version": row[0]}),))
        version: int = row[0]
        self.on_revoked(user_id, version)  # this process at once; the others when the NOTIFY arrives
        return version

    def forget_all(self) -> None:
        """The listener (re)connected: revocations may have been missed meanwhile."""
        self._versions.clear()


class Authenticator:
    """Token -> user id for every entry point (REST, SSE, MCP): signature, expiry, then revocation."""

    def __init__(self, tokens: AccessTokens, versions: TokenVersions) -> None:
        self.tokens = tokens
        self.versions = versions

    async def authenticate(self, token: str) -> TokenClaims:
        claims = self.tokens.verify(token)
        if await self.versions.current(claims.user_id) != claims.version:
            raise SessionRevoked("Session has ended")
        return claims


def parse_revocation(payload: str) -> tuple[int, int | None] | None:
    """(user id, version up to which its tokens are revoked; None: the account was deleted)."""
    try:
        data = json.loads(payload)
        if data.get("deleted") is True:
            return int(data["user_id"]), None
        return int(data["user_id"]), int(data["version"])
    except (ValueError, KeyError, TypeError, AttributeError):
        logger.warning("ignoring malformed %s payload: %.200s", REVOCATION_CHANNEL, payload)
        return None
