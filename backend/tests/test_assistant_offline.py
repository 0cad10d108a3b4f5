"""Offline interpreter (no OPENAI_API_KEY): each tool, each documented phrasing, unknown input, 422s."""

from __future__ import annotations

import pytest
from api_errors import error_body
from assistant_helpers import post_chat
from sqlalchemy import select

from app.models import Task
from app.services.assistant.offline import Command, parse


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("add buy milk", Command("add_task", {"title": "buy milk"})),
        ("Add task: water the plants", Command("add_task", {"title": "water the plants"})),
        ("list my open tasks", Command("list_tasks", {"status": "open"})),
        ("list my tasks", Command("list_tasks", {"status": "all"})),
        ("show completed tasks", Command("list_tasks", {"status": "completed"})),
        ("complete buy milk", Command("complete_task", {"title": "buy milk"})),
        ("complete 3", Command("complete_task", {"task_id": 3})),
        ("mark 7 as done", Command("complete_task", {"task_id": 7})),
        ("rename 2 to call mum", Command("update_task", {"task_id": 2, "title": "call mum"})),
        ("delete the milk task", Command("delete_task", {"title": "milk"})),
        ("delete 4", Command("delete_task", {"task_id": 4})),
        ("please add call the bank", Command("add_task", {"title": "call the bank"})),
    ],
)
def test_parse_phrasings(message: str, expected: Command) -> None:
    assert parse(message) == expected


@pytest.mark.parametrize("message", ["what's the weather?", "hello", "tell me a joke", "rename milk"])
def test_parse_unknown_input(message: str) -> None:
    assert parse(message) is None


async def _titles(db_session, user_id: int) -> dict[str, bool]:
    db_session.expire_all()
    rows = (await db_session.scalars(select(Task).where(Task.user_id == user_id))).all()
    return {row.title: row.completed for row in rows}


async def test_add_phrasing_creates_task_and_says_offline(client, user, db_session) -> None:
    body = await post_chat(client, user, "add buy milk")
    assert "offline mode" in body["reply"].lower()
    assert "Added task #" in body["reply"] and "buy milk" in body["reply"]
    assert body["actions"][0]["tool"] == "add_task"
    assert body["actions"][0]["result"]["ok"] is True
    assert await _titles(db_session, user.id) == {"buy milk": False}


async def test_list_open_tasks_phrasing(client, user) -> None:
    await post_chat(client, user, "add buy milk")
    await post_chat(client, user, "add pay rent")
    await post_chat(client, user, "complete pay rent")
    body = await post_chat(client, user, "list my open tasks")
    assert "buy milk" in body["reply"]
    assert "pay rent" not in body["reply"]
    assert [t["title"] for t in body["actions"][0]["result"]["tasks"]] == ["buy milk"]


async def test_complete_by_title_phrasing(client, user, db_session) -> None:
    await post_chat(client, user, "add buy milk")
    body = await post_chat(client, user, "complete buy milk")
    assert "Completed task" in body["reply"]
    assert await _titles(db_session, user.id) == {"buy milk": True}


async def test_complete_by_id_phrasing(client, user, db_session) -> None:
    await post_chat(client, user, "add first")
    await post_chat(client, user, "add second")
    await post_chat(client, user, "add third")
    third = (await client.get("/api/tasks", headers=user.headers)).json()[0]
    assert third["title"] == "third"
    body = await post_chat(client, user, f"complete {third['id']}")
    assert f"#{third['id']}" in body["reply"]
    assert await _titles(db_session, user.id) == {"first": False, "second": False, "third": True}


async def test_rename_phrasing(client, user, db_session) -> None:
    await post_chat(client, user, "add one")
    await post_chat(client, user, "add two")
    second_id = (await client.get("/api/tasks", headers=user.headers)).json()[0]["id"]
    body = await post_chat(client, user, f"rename {second_id} to call mum")
    assert "call mum" in body["reply"]
    assert await _titles(db_session, user.id) == {"one": False, "call mum": False}


async def test_delete_phrasing(client, user, db_session) -> None:
    await post_chat(client, user, "add buy milk")
    await post_chat(client, user, "add walk the dog")
    body = await post_chat(client, user, "delete the milk task")
    assert "Deleted task" in body["reply"] and "buy milk" in body["reply"]
    assert await _titles(db_session, user.id) == {"walk the dog": False}


async def test_ambiguous_title_asks_for_an_id(client, user, db_session) -> None:
    await post_chat(client, user, "add buy milk")
    await post_chat(client, user, "add buy milk powder")
    await post_chat(client, user, "add milk the cow")
    body = await post_chat(client, user, "delete the milk task")
    assert "Several tasks match" in body["reply"]
    assert len(await _titles(db_session, user.id)) == 3


async def test_unknown_input_gets_help(client, user) -> None:
    body = await post_chat(client, user, "what's the weather like?")
    assert "offline mode" in body["reply"].lower()
    for example in ("add buy milk", "list my open tasks", "complete 3", "rename 2 to call mum", "delete the milk task"):
        assert example in body["reply"]
    assert body["actions"] == []


@pytest.mark.parametrize("message", ["", "   ", "x" * 4001])
async def test_empty_or_oversized_message_is_422(client, user, message: str) -> None:
    response = await client.post("/api/chat", json={"message": message}, headers=user.headers)
    assert "message" in error_body(response, 422)["detail"]


async def test_chat_requires_auth(client) -> None:
    assert (await client.post("/api/chat", json={"message": "add x"})).status_code == 401


async def test_offline_cannot_touch_other_users_task(client, create_user, db_session) -> None:
    alice, bob = await create_user(), await create_user()
    bob_task = (await client.post("/api/tasks", json={"title": "bob milk"}, headers=bob.headers)).json()
    for message in (
        f"delete {bob_task['id']}",
        f"complete {bob_task['id']}",
        f"rename {bob_task['id']} to hacked",
        "delete the milk task",
    ):
        body = await post_chat(client, alice, message)
        assert body["actions"][0]["result"]["ok"] is False, message
    assert await _titles(db_session, bob.id) == {"bob milk": False}


async def test_conversation_and_messages_are_per_user(client, create_user) -> None:
    alice, bob = await create_user(), await create_user()
    first = await post_chat(client, alice, "add buy milk")
    second = await post_chat(client, alice, "list my tasks", first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"]

    listed = (await client.get("/api/conversations", headers=alice.headers)).json()
    assert [c["id"] for c in listed] == [first["conversation_id"]]
    assert listed[0]["title"] == "add buy milk"
    messages = (
        await client.get(f"/api/conversations/{first['conversation_id']}/messages", headers=alice.headers)
    ).json()
    assert (messages[0]["role"], messages[0]["content"][:8]) == ("user", "add buy ")
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
    assert messages[1]["actions"][0]["tool"] == "add_task"

    assert (await client.get("/api/conversations", headers=bob.headers)).json() == []
    other = await client.get(f"/api/conversations/{first['conversation_id']}/messages", headers=bob.headers)
    assert other.status_code == 404
    hijack = await client.post(
        "/api/chat", json={"message": "list my tasks", "conversation_id": first["conversation_id"]}, headers=bob.headers
    )
    assert hijack.status_code == 404
