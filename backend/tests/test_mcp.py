"""MCP server at /mcp: the official `mcp` client over streamable HTTP against a real backend process."""

from __future__ import annotations

import httpx
import httpx2
import pytest
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from app.services.assistant.tools import TOOL_DESCRIPTIONS
from taskpilot_dev import harness

EXPECTED_TOOLS = {"add_task", "list_tasks", "complete_task", "update_task", "delete_task"}


def _untitled(properties: dict) -> dict:
    return {name: {key: value for key, value in spec.items() if key != "title"} for name, spec in properties.items()}


async def _session_call(base_url: str, token: str | None, action):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{base_url}/mcp", http_client=http) as streams,
    ):
        read_stream, write_stream = streams[0], streams[1]
        async with ClientSession(read_stream, write_stream) as session:
            await session.initialize()
            return await action(session)


@pytest.fixture(scope="module")
def server_url(database_url):
    """One real backend process for this module (tables are still emptied before each test)."""
    with harness.backend_server(database_url) as base_url:
        yield base_url


async def test_mcp_lists_tools_and_adds_task_for_token_owner(server_url, create_user, client) -> None:
    alice, bob = await create_user(), await create_user()

    async def list_and_add(session: ClientSession):
        tools = await session.list_tools()
        added = await session.call_tool("add_task", {"title": "from my IDE", "description": "via MCP"})
        listed = await session.call_tool("list_tasks", {"status": "open"})
        return tools, added, listed

    tools, added, listed = await _session_call(server_url, alice.token, list_and_add)
    assert {tool.name for tool in tools.tools} == EXPECTED_TOOLS
    for tool in tools.tools:  # one definition: MCP publishes the assistant's argument models, field for field
        description, args_model = TOOL_DESCRIPTIONS[tool.name]
        assert tool.description == description
        assert _untitled(tool.input_schema["properties"]) == _untitled(args_model.model_json_schema()["properties"])
        assert tool.input_schema.get("required", []) == args_model.model_json_schema().get("required", [])
    add_schema = next(tool for tool in tools.tools if tool.name == "add_task").input_schema
    assert "user_id" not in add_schema.get("properties", {})
    assert added.is_error is False, added
    assert added.structured_content["task"]["title"] == "from my IDE"
    assert [t["title"] for t in listed.structured_content["tasks"]] == ["from my IDE"]

    alice_tasks = (await client.get("/api/tasks", headers=alice.headers)).json()
    bob_tasks = (await client.get("/api/tasks", headers=bob.headers)).json()
    assert [(t["title"], t["description"]) for t in alice_tasks] == [("from my IDE", "via MCP")]
    assert bob_tasks == []


async def test_mcp_tools_cannot_reach_other_users_tasks(server_url, create_user, client) -> None:
    alice, bob = await create_user(), await create_user()
    bob_task = (await client.post("/api/tasks", json={"title": "bob's secret"}, headers=bob.headers)).json()

    async def attack(session: ClientSession):
        deleted = await session.call_tool("delete_task", {"task_id": bob_task["id"]})
        completed = await session.call_tool("complete_task", {"title": "secret"})
        listed = await session.call_tool("list_tasks", {})
        return deleted, completed, listed

    deleted, completed, listed = await _session_call(server_url, alice.token, attack)
    assert deleted.is_error is True and "No task with id" in deleted.content[0].text
    assert completed.is_error is True
    assert listed.structured_content["tasks"] == []
    bob_tasks = (await client.get("/api/tasks", headers=bob.headers)).json()
    assert [(t["title"], t["completed"]) for t in bob_tasks] == [("bob's secret", False)]


@pytest.mark.parametrize("token", [None, "not-a-jwt"])
async def test_mcp_rejects_missing_or_bad_token(server_url, token) -> None:
    headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{server_url}/mcp", json=initialize, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"

    with pytest.raises(ExceptionGroup) as refused:  # the official client fails to initialize without credentials
        await _session_call(server_url, token, lambda session: session.list_tools())
    assert refused.group_contains(MCPError)
