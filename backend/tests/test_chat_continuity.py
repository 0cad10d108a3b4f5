"""Stateless replicas: turn 1 on one backend process, turn 2 on another (same database) sees turn 1."""

from __future__ import annotations

import httpx
import pytest
from fake_openai import FakeOpenAI, text


@pytest.fixture
def fake_model():
    fake = FakeOpenAI().start()
    try:
        yield fake
    finally:
        fake.stop()


async def test_second_process_continues_the_conversation(backend_server, create_user, fake_model) -> None:
    alice = await create_user()
    env = {"OPENAI_API_KEY": fake_model.api_key, "OPENAI_BASE_URL": fake_model.base_url, "OPENAI_MODEL": "fake-model"}
    fake_model.queue(text("Noted: the code word is pelican."), text("The code word is pelican."))

    with backend_server(env=env) as first_url, backend_server(env=env) as second_url:
        assert first_url != second_url
        async with httpx.AsyncClient(timeout=30) as http:
            turn1 = await http.post(
                f"{first_url}/api/chat", json={"message": "remember the code word pelican"}, headers=alice.headers
            )
            assert turn1.status_code == 200, turn1.text
            conversation_id = turn1.json()["conversation_id"]
            turn2 = await http.post(
                f"{second_url}/api/chat",
                json={"message": "what was the code word?", "conversation_id": conversation_id},
                headers=alice.headers,
            )
            assert turn2.status_code == 200, turn2.text
            messages = (
                await http.get(f"{second_url}/api/conversations/{conversation_id}/messages", headers=alice.headers)
            ).json()

    assert turn2.json() == {"conversation_id": conversation_id, "reply": "The code word is pelican.", "actions": []}
    # The second process loaded turn 1 from PostgreSQL and sent it to the model.
    sent = [(m["role"], m["content"]) for m in fake_model.requests[1]["messages"][1:]]
    assert sent == [
        ("user", "remember the code word pelican"),
        ("assistant", "Noted: the code word is pelican."),
        ("user", "what was the code word?"),
    ]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant"]
