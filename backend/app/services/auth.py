"""Accounts: signup, password login and deletion.

Login limits (services/login_limits.py) decide which failure counters an attempt meets, by the client
address and the device cookie the route passes in. argon2 is CPU-bound: hashes run on the bounded
PasswordHashing pool, and never while this request holds a database connection (read, release the
connection, hash, then write), so slow hashing under load cannot drain the connection pool.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import status
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import ApiError
from app.core.hashing import PasswordHashing
from app.core.security import hash_password, verify_password
from app.models.user import User
from app.services import login_limits
from app.services.login_limits import LoginClient, LoginLimits, TooManyFailures

CONFIRMATION_THROTTLED = "Too many failed attempts; try again later"


class EmailAlreadyRegistered(ApiError):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Email already registered"

    def __init__(self, email: str) -> None:
        super().__init__()
        self.email = email


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    email = normalize_email(email)
    if not email.isprintable():  # cannot be a stored address (and NUL or lone surrogates break the query)
        return None
    return await session.scalar(select(User).where(User.email == email))


async def _release_connection(session: AsyncSession) -> None:
    """End the (read-only) transaction so the pooled connection goes back before a slow hash."""
    await session.rollback()


async def signup(
    session: AsyncSession, hashing: PasswordHashing, *, email: str, password: str, name: str | None = None
) -> User:
    email = normalize_email(email)
    hashing.refuse_if_busy()
    if await get_user_by_email(session, email) is not None:
        raise EmailAlreadyRegistered(email)
    await _release_connection(session)
    password_hash = await hashing.run(hash_password, password)
    user = User(email=email, name=name or None, password_hash=password_hash)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as error:  # lost a race with a concurrent signup for the same email
        await session.rollback()
        raise EmailAlreadyRegistered(email) from error
    return user


async def delete_account(session: AsyncSession, user_id: int) -> bool:
    """Delete the user and everything of theirs: tasks, conversations with their messages and a running
    assistant turn go with the row (ON DELETE CASCADE). The row's deletion trigger NOTIFYs every replica,
    which then refuses the user's tokens and closes the user's event streams. False: already gone."""
    result = cast(CursorResult[Any], await session.execute(delete(User).where(User.id == user_id)))
    await session.commit()
    return result.rowcount == 1


async def authenticate(
    session: AsyncSession,
    hashing: PasswordHashing,
    limits: LoginLimits,
    *,
    email: str,
    password: str,
    client: LoginClient,
) -> User | None:
    """The user for these credentials, or None (unknown email and wrong password cost the same).

    Raises TooManyFailures (a counter this attempt meets is at its limit) or HashingBusy (no hashing slot).
    A known device (client.device) may wait for a hashing slot ahead of unknown clients.
    """
    email = normalize_email(email)
    priority_for = login_limits.account_key(email) if client.device is not None else None
    hashing.refuse_if_busy(priority_for)
    attempt = await login_limits.check(session, limits, email, client)
    user = await get_user_by_email(session, email)
    if user is not None:
        session.expunge(user)  # keep its loaded fields through the rollback below
    await _release_connection(session)
    stored_hash = user.password_hash if user is not None else None
    if not await hashing.run(verify_password, password, stored_hash, priority_for=priority_for):
        await login_limits.record_failure(session, limits, attempt)
        return None
    if attempt.has_failures:
        await login_limits.clear_after_success(session, attempt)
    return user


async def confirm_password(
    session: AsyncSession,
    hashing: PasswordHashing,
    limits: LoginLimits,
    *,
    user: User,
    password: str,
    client: LoginClient,
) -> bool:
    """Whether `password` is `user`'s, checked like a login and under its failure limits (guessing here
    costs what guessing at login does)."""
    try:
        confirmed = await authenticate(session, hashing, limits, email=user.email, password=password, client=client)
    except TooManyFailures as error:
        raise TooManyFailures(error.retry_after, CONFIRMATION_THROTTLED) from None  # same limits, this form's words
    return confirmed is not None and confirmed.id == user.id
