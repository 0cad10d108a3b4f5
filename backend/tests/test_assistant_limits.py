"""Bounded assistant turns: no transaction across a model call, server-side DB timeouts, one running
turn per user (429 for a second), a turn deadline and a cap on tool calls per step."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import psycopg
import pytest
from assistant_helpers import post_chat
from fake_openai import Delayed, text, tool_call, tool_calls
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings
from app.core.db import connect_args


@pytest.fixture
def assistant_settings(app, fake_model):
    """Change assistant limits on top of the fake model's settings for one test."""
    base = app.services

    def _set(**values: object) -> None:
        app.services = replace(base, settings=base.settings.model_copy(update=values))

    yield _set
    app.services = base


def _open_transactions(database_url: str) -> int:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        return connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        ).fetchone()[0]


async def test_no_transaction_is_open_while_the_model_thinks(client, user, fake_model, database_url):
    seen: list[int] = []

    def after_tools(body: dict) -> dict:
        seen.append(_open_transactions(database_url))
        return tool_call("add_task", {"title": "after a read"})

    def final(body: dict) -> dict:
        seen.append(_open_transactions(database_url))
        return text("Done.")

    await client.post("/api/tasks", json={"title": "existing"}, headers=user.headers)
    fake_model.queue(tool_call("list_tasks", {}), after_tools, final)
    await post_chat(client, user, "list then add")
    assert seen == [0, 0]


async def test_connections_carry_server_side_timeouts(app, database_url):
    settings: Settings = app.services.settings
    async with app.services.db.engine.connect() as connection:
        statement = (await connection.execute(sql("SHOW statement_timeout"))).scalar()
        idle = (await connection.execute(sql("SHOW idle_in_transaction_session_timeout"))).scalar()
    assert statement == f"{settings.db_statement_timeout_ms // 1000}s"
    assert idle == f"{settings.db_idle_in_transaction_timeout_ms // 1000}s"
    async with app.services.db.pool.connection() as task_connection:  # the task service's pool too
        statement = (await (await task_connection.execute("SHOW statement_timeout")).fetchone())[0]
        idle = (await (await task_connection.execute("SHOW idle_in_transaction_session_timeout")).fetchone())[0]
    assert statement == f"{settings.db_statement_timeout_ms // 1000}s"
    assert idle == f"{settings.db_idle_in_transaction_timeout_ms // 1000}s"

    strict = Settings(database_url=database_url, db_statement_timeout_ms=200, db_idle_in_transaction_timeout_ms=300)
    engine = create_async_engine(strict.sqlalchemy_url, connect_args=connect_args(strict))
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError, match="statement timeout"):
                await connection.execute(sql("SELECT pg_sleep(2)"))
        async with engine.connect() as connection:
            await connection.execute(sql("SELECT 1"))  # opens a transaction, then idles in it
            await asyncio.sleep(1.0)
            with pytest.raises(DBAPIError):
                await connection.execute(sql("SELECT 1"))
    finally:
        await engine.dispose()


async def test_one_running_turn_per_user(client, create_user, fake_model):
    alice, bob = await create_user(), await create_user()
    fake_model.queue(Delayed(text("slow answer"), 2.0), text("bob's answer"))
    first = asyncio.create_task(client.post("/api/chat", json={"message": "slow"}, headers=alice.headers))
    deadline = time.monotonic() + 10
    while not fake_model.requests and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    second = await client.post("/api/chat", json={"message": "again"}, headers=alice.headers)
    assert second.status_code == 429
    assert int(second.headers["retry-after"]) >= 1 and "still running" in second.json()["detail"]
    chatkit = await client.post(
        "/api/chatkit",
        headers=alice.headers,
        json={
            "type": "threads.create",
            "params": {
                "input": {
                    "content": [{"type": "input_text", "text": "again"}],
                    "attachments": [],
                    "inference_options": {},
                }
            },
        },
    )
    assert chatkit.status_code == 429
    assert (await post_chat(client, bob, "other user"))["reply"] == "bob's answer"
    assert (await first).status_code == 200
    fake_model.queue(text("now free"))
    assert (await post_chat(client, alice, "after"))["reply"] == "now free"


async def test_a_turn_has_a_deadline_and_then_frees_the_slot(client, user, fake_model, assistant_settings):
    assistant_settings(assistant_turn_timeout_seconds=1.0)
    fake_model.queue(tool_call("add_task", {"title": "made in time"}), Delayed(text("too late"), 4.0))
    started = time.monotonic()
    body = await post_chat(client, user, "add and think long")
    assert time.monotonic() - started < 3.5
    assert "ran out of time" in body["reply"]
    assert [action["tool"] for action in body["actions"]] == ["add_task"]
    tasks = (await client.get("/api/tasks", headers=user.headers)).json()
    assert [task["title"] for task in tasks] == ["made in time"]
    fake_model.queue(text("next turn"))
    assert (await post_chat(client, user, "again"))["reply"] == "next turn"


async def test_tool_calls_per_step_are_capped(client, user, fake_model, assistant_settings):
    assistant_settings(assistant_max_tool_calls_per_step=2)
    fake_model.queue(tool_calls(*[("add_task", {"title": f"t{n}"}) for n in range(5)]), text("ok"))
    body = await post_chat(client, user, "add five")
    assert len(body["actions"]) == 2
    assert len((await client.get("/api/tasks", headers=user.headers)).json()) == 2
    answers = [m for m in fake_model.requests[1]["messages"] if m["role"] == "tool"]
    assert len(answers) == 5  # every call is answered; three of them refused
    assert sum("at most 2 tool calls" in m["content"] for m in answers) == 3
