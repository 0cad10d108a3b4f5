"""Rows behind the abuse limits: kept in PostgreSQL so every replica enforces the same numbers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class LoginFailures(Base):
    """Failed logins in the current window, per key: "account:<email digest>" (the account's unknown
    clients), "ip:<address>", or "device:<nonce>" (one known device of an account)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SignupAttempts(Base):
    """Signup attempts in the current window, per client address ("ip:<address>")."""

    __tablename__ = "signup_attempts"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class AssistantTurn(Base):
    """A user's running assistant turn (at most one per user)."""

    __tablename__ = "assistant_turns"

    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
