"""Accounts: signup and password login. Passwords are hashed off the event loop (argon2 is CPU-bound)."""
from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import hash_password, verify_password
from app.models.user import User


class EmailAlreadyRegistered(Exception):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def get_user(session: AsyncSession, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    email = normalize_email(email)
    if not email.isprintable():  # cannot be a stored address (and NUL or lone surrogates break the query)
        return None
    return await session.scalar(select(User).where(User.email == email))


async def signup(session: AsyncSession, *, email: str, password: str, name: str | None = None) -> User:
    email = normalize_email(email)
    if await get_user_by_email(session, email) is not None:
        raise EmailAlreadyRegistered(email)
    password_hash = await asyncio.to_thread(hash_password, password)
    user = User(email=email, name=name or None, password_hash=password_hash)
    session.add(user)
    try:
        await session.commit()
    except IntegrityError as error:  # lost a race with a concurrent signup for the same email
        await session.rollback()
        raise EmailAlreadyRegistered(email) from error
    return user


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The user for these credentials, or None (unknown email and wrong password cost the same)."""
    user = await get_user_by_email(session, email)
    stored_hash = user.password_hash if user is not None else None
    if not await asyncio.to_thread(verify_password, password, stored_hash):
        return None
    return user
