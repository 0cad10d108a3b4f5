"""POST /api/chatkit speaks the ChatKit protocol: every request we send is built with, and every response
parsed by, the official `openai-chatkit` SDK's types (a test-only dependency), so the web component's
wire format is what we check."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
from api_errors import error_body
from chatkit.types import (
    AssistantMessageItem,
    InferenceOptions,
    ItemsListParams,
    ItemsListReq,
    Page,
    Thread,
    ThreadAddUserMessageParams,
    ThreadCreatedEvent,
    ThreadCreateParams,
    ThreadGetByIdParams,
    ThreadItem,
    ThreadItemDoneEvent,
    ThreadItemUpdatedEvent,
    ThreadListParams,
    ThreadMetadata,
    ThreadsAddUserMessageReq,
    ThreadsCreateReq,
    ThreadsGetByIdReq,
    ThreadsListReq,
    ThreadStreamEvent,
    UserMessageInput,
    UserMessageItem,
    UserMessageTextContent,
)
from fake_openai import text, tool_call
from pydantic import TypeAdapter
from sqlalchemy import select

from app.models import Task

EVENTS = TypeAdapter(ThreadStreamEvent)
THREAD_PAGE = TypeAdapter(Page[Thread])
ITEM_PAGE = TypeAdapter(Page[ThreadItem])


def _input(message: str) -> UserMessageInput:
    return UserMessageInput(
        content=[UserMessageTextContent(text=message)], attachments=[], inference_options=InferenceOptions()
    )


def _create(message: str) -> bytes:
    return ThreadsCreateReq(params=ThreadCreateParams(input=_input(message))).model_dump_json().encode()


def _add(thread_id: str, message: str) -> bytes:
    return (
        ThreadsAddUserMessageReq(params=ThreadAddUserMessageParams(thread_id=thread_id, input=_input(message)))
        .model_dump_json()
        .encode()
    )


def _events(response: httpx.Response) -> list:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    chunks = [c for c in response.text.split("\n\n") if c.strip()]
    assert all(chunk.startswith("data: ") for chunk in chunks), chunks
    return [EVENTS.validate_json(chunk[len("data: ") :]) for chunk in chunks]


async def _post(http, headers, body: bytes) -> httpx.Response:
    return await http.post("/api/chatkit", content=body, headers={**headers, "Content-Type": "application/json"})


def _assistant_text(events: list) -> str:
    done = [e for e in events if isinstance(e, ThreadItemDoneEvent) and isinstance(e.item, AssistantMessageItem)]
    assert len(done) == 1
    return done[0].item.content[0].text


async def test_create_thread_and_follow_up_round_trip(client, create_user, db_session, fake_model) -> None:
    alice = await create_user()
    fake_model.queue(tool_call("add_task", {"title": "buy milk"}), text("Added buy milk."), text("You have 1 task."))

    events = _events(await _post(client, alice.headers, _create("add buy milk please")))
    created = events[0]
    assert isinstance(created, ThreadCreatedEvent)
    thread_id = created.thread.id
    user_items = [e.item for e in events if isinstance(e, ThreadItemDoneEvent) and isinstance(e.item, UserMessageItem)]
    assert user_items[0].content[0].text == "add buy milk please"
    deltas = [
        e.update.delta
        for e in events
        if isinstance(e, ThreadItemUpdatedEvent) and e.update.type == "assistant_message.content_part.text_delta"
    ]
    assert "".join(deltas) == _assistant_text(events) == "Added buy milk."
    assert [t.title for t in (await db_session.scalars(select(Task).where(Task.user_id == alice.id))).all()] == [
        "buy milk"
    ]

    follow_up = _events(await _post(client, alice.headers, _add(thread_id, "how many tasks do I have?")))
    assert not any(isinstance(e, ThreadCreatedEvent) for e in follow_up)
    assert _assistant_text(follow_up) == "You have 1 task."
    history = [(m["role"], m["content"]) for m in fake_model.requests[-1]["messages"][1:]]
    assert history == [
        ("user", "add buy milk please"),
        ("assistant", "Added buy milk."),
        ("user", "how many tasks do I have?"),
    ]

    get = ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id)).model_dump_json().encode()
    thread = Thread.model_validate_json((await _post(client, alice.headers, get)).content)
    assert [item.type for item in thread.items.data] == ["user_message", "assistant_message"] * 2
    items_req = ItemsListReq(params=ItemsListParams(thread_id=thread_id, order="asc", limit=3)).model_dump_json()
    page = ITEM_PAGE.validate_json((await _post(client, alice.headers, items_req.encode())).content)
    assert len(page.data) == 3 and page.has_more is True

    # The same conversation is visible through the plain chat API.
    listed = (await client.get("/api/conversations", headers=alice.headers)).json()
    assert [f"thr_{c['id']}" for c in listed] == [thread_id]


async def test_threads_are_isolated_between_users(client, create_user) -> None:
    alice, bob = await create_user(), await create_user()
    events = _events(await _post(client, alice.headers, _create("add alice secret")))  # offline mode
    thread_id = events[0].thread.id
    assert "offline mode" in _assistant_text(events).lower()

    list_req = ThreadsListReq(params=ThreadListParams()).model_dump_json().encode()
    alice_threads = THREAD_PAGE.validate_json((await _post(client, alice.headers, list_req)).content)
    bob_threads = THREAD_PAGE.validate_json((await _post(client, bob.headers, list_req)).content)
    assert [t.id for t in alice_threads.data] == [thread_id]
    assert bob_threads.data == []

    get = ThreadsGetByIdReq(params=ThreadGetByIdParams(thread_id=thread_id)).model_dump_json().encode()
    assert (await _post(client, bob.headers, get)).status_code == 404
    assert (await _post(client, bob.headers, _add(thread_id, "list my tasks"))).status_code == 404
    assert (await _post(client, alice.headers, get)).status_code == 200
    assert (await client.get("/api/tasks", headers=bob.headers)).json() == []


async def test_chatkit_rejects_bad_requests(client, user) -> None:
    client.cookies.clear()  # signup left a session cookie in this client
    assert (await client.post("/api/chatkit", content=_create("hi"))).status_code == 401
    assert (await _post(client, user.headers, b"not json")).status_code == 422
    empty = json.loads(_create("x"))
    empty["params"]["input"]["content"] = [{"type": "input_text", "text": "   "}]
    assert (await _post(client, user.headers, json.dumps(empty).encode())).status_code == 422
    unsupported = json.dumps({"type": "input.transcribe", "params": {"audio_base64": "", "mime_type": "audio/webm"}})
    assert error_body(await _post(client, user.headers, unsupported.encode()), 422)["errors"]
    assert error_body(await _post(client, user.headers, b""), 422)["detail"]  # the body is required


async def test_chatkit_round_trip_over_real_http(backend_server, create_user) -> None:
    alice = await create_user()
    with backend_server() as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            events = _events(await _post(http, alice.headers, _create("add water the plants")))
            thread_id = events[0].thread.id
            follow_up = _events(await _post(http, alice.headers, _add(thread_id, "list my open tasks")))
            assert "water the plants" in _assistant_text(follow_up)
            tasks = (await http.get("/api/tasks", headers=alice.headers)).json()
    assert [t["title"] for t in tasks] == ["water the plants"]
    metadata = ThreadMetadata.model_validate(events[0].thread.model_dump())
    assert isinstance(metadata.created_at, datetime)
