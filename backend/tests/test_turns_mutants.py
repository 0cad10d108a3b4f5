"""The per-user assistant turn slot through exclusive_turn itself: its row, its expiry, and its release
on success, failure and a lost race (test_assistant_limits.py covers the same through /api/chat)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.services.assistant.turns import EXPIRY_MARGIN_SECONDS, TurnInProgress, exclusive_turn


async def _turns(session) -> list[tuple[int, float]]:
    rows = await session.execute(
        text("SELECT user_id, EXTRACT(EPOCH FROM expires_at - started_at) FROM assistant_turns ORDER BY user_id")
    )
    return [(user_id, float(seconds)) for user_id, seconds in rows.all()]


async def test_a_turn_holds_a_row_that_expires_after_the_deadline_and_margin(app, user, create_user):
    other = await create_user()
    async with app.services.db.session() as session, app.services.db.session() as observer:
        async with exclusive_turn(session, user.id, 12.5):
            assert await _turns(observer) == [(user.id, 12.5 + EXPIRY_MARGIN_SECONDS)]  # committed at once
            await observer.rollback()
            async with app.services.db.session() as second:
                with pytest.raises(TurnInProgress) as busy:
                    async with exclusive_turn(second, user.id, 12.5):
                        pytest.fail("a second turn of the same user ran")
                assert (busy.value.status_code, busy.value.retry_after) == (429, 5)
                async with exclusive_turn(second, other.id, 1):  # other users are not held up
                    pass
        await observer.rollback()
        assert await _turns(observer) == []  # released


async def test_a_failed_turn_rolls_back_and_still_releases_its_slot(app, user):
    async with app.services.db.session() as session:
        with pytest.raises(RuntimeError, match="model failed"):
            async with exclusive_turn(session, user.id, 5):
                with pytest.raises(DBAPIError):  # the statement fails: the transaction is aborted
                    await session.execute(text("SELECT 1/0"))
                raise RuntimeError("model failed")
    async with app.services.db.session() as observer:
        assert await _turns(observer) == []
    async with app.services.db.session() as session, exclusive_turn(session, user.id, 5):
        pass


async def test_an_expired_turn_of_a_crashed_pod_is_taken_over(app, user):
    async with app.services.db.session() as session:
        await session.execute(
            text(
                "INSERT INTO assistant_turns (user_id, started_at, expires_at) "
                "VALUES (:id, now() - interval '5 minutes', now() - interval '1 second')"
            ),
            {"id": user.id},
        )
        await session.commit()
        async with exclusive_turn(session, user.id, 20):
            assert await _turns(session) == [(user.id, 20 + EXPIRY_MARGIN_SECONDS)]
        await session.execute(
            text(
                "INSERT INTO assistant_turns (user_id, started_at, expires_at) "
                "VALUES (:id, now(), now() + interval '1 minute')"
            ),
            {"id": user.id},
        )
        await session.commit()
        with pytest.raises(TurnInProgress):
            async with exclusive_turn(session, user.id, 20):
                pass
