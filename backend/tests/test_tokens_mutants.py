"""Access tokens and their revocation, through the classes the app builds them from: what a token
carries, which tokens verify, how long a verified one is trusted, and how the per-user version cache
follows logouts and deletions (test_auth.py covers the same through the HTTP routes)."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

import jwt
import psycopg
import pytest

from app.core.config import Settings
from app.core.security import (
    JWT_ALGORITHM,
    AccessTokens,
    InvalidToken,
    TokenClaims,
    hash_password,
    verify_password,
)
from app.services.sessions import (
    REVOCATION_CHANNEL,
    Authenticator,
    SessionRevoked,
    TokenVersions,
    parse_revocation,
)

SECRET = "a-test-secret-that-is-long-enough-0123456789"


def _tokens(**settings: object) -> AccessTokens:
    return AccessTokens(Settings(app_env="dev", jwt_secret=SECRET, **settings))  # type: ignore[arg-type]


def _payload(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=[JWT_ALGORITHM])


def _signed(claims: dict, algorithm: str = JWT_ALGORITHM, secret: str = SECRET) -> str:
    return jwt.encode(claims, secret, algorithm=algorithm)


def test_passwords_verify_only_against_their_own_hash():
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert verify_password("correct horse", stored) is True
    assert verify_password("wrong horse", stored) is False
    assert verify_password("correct horse", None) is False  # unknown account: same work, never a match


def test_an_issued_token_carries_user_version_and_its_lifetime():
    tokens = _tokens(jwt_expires_minutes=30)
    assert tokens.lifetime == timedelta(minutes=30)
    before = int(time.time())
    payload = _payload(tokens.issue(42, 7))
    assert payload["sub"] == "42" and payload["ver"] == 7
    assert before <= payload["iat"] <= int(time.time())
    assert payload["exp"] - payload["iat"] == 30 * 60
    short = _payload(tokens.issue(42, expires_in=timedelta(seconds=90)))
    assert short["ver"] == 0 and short["exp"] - short["iat"] == 90
    assert jwt.get_unverified_header(tokens.issue(1))["alg"] == "HS256"


def test_verify_returns_the_claims_of_a_valid_token():
    tokens = _tokens()
    claims = tokens.verify(tokens.issue(5, 3))
    assert (claims.user_id, claims.version) == (5, 3)
    assert claims.expires_at == pytest.approx(time.time() + 24 * 3600, abs=5)
    assert claims.issued_at == pytest.approx(time.time(), abs=5)
    assert isinstance(claims, TokenClaims)


def test_tokens_without_version_or_issue_time_get_the_defaults():
    exp = int(time.time()) + 60
    claims = _tokens().verify(_signed({"sub": "9", "exp": exp}))
    assert claims == TokenClaims(9, 0, float(exp), 0.0)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "0"},
        {"sub": "-3"},
        {"sub": "4", "ver": -1},
        {"sub": "abc"},
        {"sub": "4", "ver": "x"},
        {"sub": "4", "iat": "x"},
        {"sub": "4", "ver": None},
        {"exp": "later"},
    ],
)
def test_bad_claims_are_invalid_tokens(claims):
    with pytest.raises(InvalidToken):
        _tokens().verify(_signed({"sub": "4", "exp": int(time.time()) + 60} | claims))


def test_tokens_missing_a_required_claim_or_signed_otherwise_are_invalid():
    tokens, exp = _tokens(), int(time.time()) + 60
    for token in (
        _signed({"sub": "4"}),  # no exp: would never expire
        _signed({"exp": exp}),  # no subject
        _signed({"sub": "4", "exp": exp}, secret="another-secret-that-is-long-enough-987654"),
        _signed({"sub": "4", "exp": exp}, algorithm="HS512"),
        jwt.encode({"sub": "4", "exp": exp}, None, algorithm="none"),  # type: ignore[arg-type]
        _signed({"sub": "4", "exp": exp - 120}),  # expired
        "not.a.token",
        "",
    ):
        with pytest.raises(InvalidToken):
            tokens.verify(token)


def test_a_verified_token_is_still_refused_once_it_expires():
    tokens = _tokens()
    token = tokens.issue(3, expires_in=timedelta(seconds=1))
    assert tokens.verify(token).user_id == 3
    assert tokens.verify(token).user_id == 3  # remembered
    time.sleep(1.1)
    for _ in range(2):
        with pytest.raises(InvalidToken) as expired:
            tokens.verify(token)
        assert str(expired.value) == "Signature has expired"  # remembered or not, the same answer
    fresh = _tokens()
    with pytest.raises(InvalidToken) as never_seen:
        fresh.verify(token)
    assert str(never_seen.value) == "Signature has expired"


@pytest.mark.parametrize("subject", ["0", "-1"])
def test_a_non_positive_subject_is_a_bad_subject(subject):
    with pytest.raises(InvalidToken) as error:
        _tokens().verify(_signed({"sub": subject, "exp": int(time.time()) + 60}))
    assert str(error.value) == "bad subject"


def test_issue_times_are_utc_whatever_the_local_time_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        payload = _payload(_tokens().issue(1))
    finally:
        monkeypatch.undo()
        time.tzset()
    assert abs(payload["iat"] - time.time()) < 60


def test_the_verified_token_cache_is_bounded_and_keeps_the_recently_used():
    tokens = AccessTokens(Settings(app_env="dev", jwt_secret=SECRET), cache_size=2)
    first, second, third = (tokens.issue(n) for n in (1, 2, 3))
    tokens.verify(first)
    tokens.verify(second)
    tokens.verify(first)  # used again: now the most recent
    tokens.verify(third)  # evicts the least recently used: second
    assert list(tokens._cache) == [first, third]
    assert tokens.verify(second).user_id == 2  # still verifies, by decoding again
    assert len(tokens._cache) == 2


def test_without_a_secret_each_process_signs_with_its_own_random_key(caplog):
    with caplog.at_level(logging.WARNING, logger="taskpilot.security"):
        one = AccessTokens(Settings(app_env="dev", jwt_secret=""))
    assert [record.getMessage() for record in caplog.records] == [
        "JWT_SECRET is not set; using a random per-process secret (dev only)"
    ]
    other = AccessTokens(Settings(app_env="dev", jwt_secret=""))
    token = one.issue(1)
    assert one.verify(token).user_id == 1
    with pytest.raises(InvalidToken):
        other.verify(token)
    assert _tokens().verify(_tokens().issue(1)).user_id == 1  # a configured secret is shared


def test_parse_revocation_reads_versions_and_deletions_and_ignores_the_rest(caplog):
    assert parse_revocation(json.dumps({"user_id": 4, "version": 2})) == (4, 2)
    assert parse_revocation(json.dumps({"user_id": "4", "version": "2"})) == (4, 2)
    assert parse_revocation(json.dumps({"user_id": 4, "deleted": True})) == (4, None)
    assert parse_revocation(json.dumps({"user_id": 4, "deleted": True, "version": 9})) == (4, None)
    assert parse_revocation(json.dumps({"user_id": 4, "deleted": "yes", "version": 9})) == (4, 9)
    with caplog.at_level(logging.WARNING, logger="taskpilot.sessions"):
        for payload in ("nope", "[1]", "{}", '{"user_id": 4}', '{"version": 1}', '{"user_id": null, "version": 1}'):
            assert parse_revocation(payload) is None, payload
        assert parse_revocation('{"user_id": 4, "deleted": true, "x": 1') is None
    assert caplog.records[0].getMessage() == f"ignoring malformed {REVOCATION_CHANNEL} payload: nope"


async def _set_version(database_url: str, user_id: int, version: int) -> None:
    async with await psycopg.AsyncConnection.connect(database_url.replace("+psycopg", ""), autocommit=True) as c:
        await c.execute("UPDATE users SET token_version = %s WHERE id = %s", (version, user_id))


async def test_versions_are_read_from_the_database_while_not_listening(app, user, database_url):
    versions = TokenVersions(app.services.db.pool, listening=lambda: False)
    assert await versions.current(user.id) == 0
    await _set_version(database_url, user.id, 3)
    assert await versions.current(user.id) == 3  # not cached: nothing would tell it about revocations
    versions.on_revoked(user.id, 1)
    assert await versions.current(user.id) == 3
    assert await versions.current(user.id + 1000) is None


async def test_versions_are_cached_while_listening_and_follow_revocations(app, user, database_url):
    listening = True
    versions = TokenVersions(app.services.db.pool, listening=lambda: listening)
    assert await versions.current(user.id) == 0
    await _set_version(database_url, user.id, 5)
    assert await versions.current(user.id) == 0  # cached: the NOTIFY is what updates it
    versions.on_revoked(user.id, 5)
    assert await versions.current(user.id) == 5
    versions.on_revoked(user.id, 4)  # an older notification never lowers it
    assert await versions.current(user.id) == 5
    versions.on_revoked(user.id, None)  # the account is gone
    assert await versions.current(user.id) is None
    versions.forget_all()
    assert await versions.current(user.id) == 5  # read again after a reconnect
    listening = False
    await _set_version(database_url, user.id, 6)
    assert await versions.current(user.id) == 6


async def test_a_read_racing_a_revocation_or_deletion_never_undoes_it(app, user, database_url):
    versions = TokenVersions(app.services.db.pool, listening=lambda: True)
    versions.on_revoked(user.id, 4)  # the NOTIFY arrived while a read of the older row was in flight
    versions._remember(user.id, 2, read=True)
    assert await versions.current(user.id) == 4
    versions.on_revoked(user.id, None)
    versions._remember(user.id, 4, read=True)  # a read that began before the deletion
    assert await versions.current(user.id) is None
    versions.on_revoked(user.id, 7)  # a notification (not a read) is believed
    assert await versions.current(user.id) == 7


async def test_the_version_cache_is_bounded(app, create_user, database_url):
    users = [await create_user() for _ in range(3)]
    versions = TokenVersions(app.services.db.pool, listening=lambda: True, size=2)
    for member in users:
        assert await versions.current(member.id) == 0  # the third read evicts the oldest entry: the first user
    for member in users:
        await _set_version(database_url, member.id, 9)
    # The newer two are still cached; the first user's version is read again.
    assert [await versions.current(member.id) for member in reversed(users)] == [0, 0, 9]


async def test_revoke_bumps_the_version_notifies_every_replica_and_refuses_unknown_users(app, user, database_url):
    versions = TokenVersions(app.services.db.pool, listening=lambda: True)
    plain = database_url.replace("+psycopg", "")
    async with await psycopg.AsyncConnection.connect(plain, autocommit=True) as listener:
        await listener.execute(f"LISTEN {REVOCATION_CHANNEL}")
        assert await versions.revoke(user.id) == 1
        assert await versions.revoke(user.id) == 2
        payloads = []
        async for notify in listener.notifies(timeout=5, stop_after=2):
            payloads.append(json.loads(notify.payload))
    assert payloads == [{"user_id": user.id, "version": 1}, {"user_id": user.id, "version": 2}]
    assert await versions.current(user.id) == 2
    async with await psycopg.AsyncConnection.connect(plain) as check:
        row = await (await check.execute("SELECT token_version FROM users WHERE id = %s", (user.id,))).fetchone()
    assert row == (2,)
    with pytest.raises(LookupError) as unknown:
        await versions.revoke(user.id + 1000)
    assert unknown.value.args == (user.id + 1000,)


async def test_a_revocation_updates_this_processs_cache_at_once(app, user):
    versions = TokenVersions(app.services.db.pool, listening=lambda: True)
    assert await versions.current(user.id) == 0  # cached
    assert await versions.revoke(user.id) == 1
    assert await versions.current(user.id) == 1  # before any NOTIFY comes back


@pytest.mark.parametrize("notified", [5, None])
async def test_a_notification_that_arrives_during_a_read_wins_over_it(app, user, notified):
    """The read saw the row before the revocation (or deletion) that was notified while it ran."""
    calls: list[int] = []

    def listening() -> bool:
        calls.append(1)
        if len(calls) == 2:  # the read is done; the notification came in meanwhile
            versions.on_revoked(user.id, notified)
        return len(calls) > 1

    versions = TokenVersions(app.services.db.pool, listening=listening)
    assert await versions.current(user.id) == 0  # what the read saw
    assert await versions.current(user.id) == notified


async def test_authenticate_accepts_only_the_current_version(app, user, database_url):
    tokens = _tokens()
    authenticator = Authenticator(tokens, TokenVersions(app.services.db.pool, listening=lambda: False))
    claims = await authenticator.authenticate(tokens.issue(user.id, 0))
    assert claims.user_id == user.id
    await _set_version(database_url, user.id, 1)
    with pytest.raises(SessionRevoked) as revoked:
        await authenticator.authenticate(tokens.issue(user.id, 0))
    assert str(revoked.value) == "Session has ended"
    assert (await authenticator.authenticate(tokens.issue(user.id, 1))).version == 1
    with pytest.raises(SessionRevoked):
        await authenticator.authenticate(tokens.issue(user.id + 1000, 0))  # no such user
    with pytest.raises(InvalidToken):
        await authenticator.authenticate("garbage")
    assert issubclass(SessionRevoked, InvalidToken)
