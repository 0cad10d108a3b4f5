"""One assistant chat turn over the API, shared by the assistant tests."""

from __future__ import annotations


async def post_chat(client, user, message: str, conversation_id: int | None = None) -> dict:
    """POST /api/chat as `user`; asserts 200 and returns the JSON body."""
    body: dict = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await client.post("/api/chat", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()
