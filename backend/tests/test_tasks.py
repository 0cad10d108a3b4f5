"""Task REST API: validation, CRUD, filter/pagination, per-user isolation."""

from __future__ import annotations

import pytest
from api_errors import error_body
from sqlalchemy import select

from app.models import Task


async def _create(client, user, title="task", description=None):
    response = await client.post("/api/tasks", json={"title": title, "description": description}, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_crud_round_trip(client, user):
    created = await _create(client, user, "Buy milk", "2 litres")
    assert set(created) == {"id", "title", "description", "completed", "created_at", "updated_at"}
    assert created["completed"] is False
    assert created["title"] == "Buy milk" and created["description"] == "2 litres"

    fetched = await client.get(f"/api/tasks/{created['id']}", headers=user.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created

    patched = await client.patch(f"/api/tasks/{created['id']}", json={"completed": True}, headers=user.headers)
    assert patched.status_code == 200
    body = patched.json()
    assert body["completed"] is True
    assert body["title"] == "Buy milk" and body["description"] == "2 litres"  # untouched fields kept
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]

    renamed = await client.patch(
        f"/api/tasks/{created['id']}", json={"title": "Buy oat milk", "description": None}, headers=user.headers
    )
    assert renamed.json()["title"] == "Buy oat milk"
    assert renamed.json()["description"] is None
    assert renamed.json()["completed"] is True

    deleted = await client.delete(f"/api/tasks/{created['id']}", headers=user.headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"/api/tasks/{created['id']}", headers=user.headers)).status_code == 404
    assert (await client.delete(f"/api/tasks/{created['id']}", headers=user.headers)).status_code == 404


@pytest.mark.parametrize(
    "payload",
    [
        {"title": ""},
        {"title": "   "},
        {"title": "x" * 201},
        {"title": "ok", "description": "d" * 2001},
        {},
        {"title": None},
        {"title": "nul\x00byte"},
        {"title": "ok", "unknown": 1},
    ],
    ids=["empty", "blank", "201-chars", "long-description", "missing", "null", "nul-char", "extra-field"],
)
async def test_invalid_task_is_422_with_message(client, user, payload):
    response = await client.post("/api/tasks", json=payload, headers=user.headers)
    assert error_body(response, 422)["errors"]


async def test_boundary_lengths_are_accepted(client, user):
    created = await _create(client, user, "x" * 200, "d" * 2000)
    assert len(created["title"]) == 200 and len(created["description"]) == 2000


@pytest.mark.parametrize(
    "payload", [{"title": ""}, {"title": "y" * 201}, {"title": None}, {"completed": None}, {"completed": "maybe"}]
)
async def test_invalid_patch_is_422_and_changes_nothing(client, user, payload):
    created = await _create(client, user, "keep me")
    response = await client.patch(f"/api/tasks/{created['id']}", json=payload, headers=user.headers)
    assert error_body(response, 422)["errors"]
    assert (await client.get(f"/api/tasks/{created['id']}", headers=user.headers)).json() == created


async def test_list_is_newest_first_with_filter_and_pagination(client, user):
    ids = [(await _create(client, user, f"task {n}"))["id"] for n in range(7)]
    for task_id in ids[::2]:  # complete 0, 2, 4, 6
        await client.patch(f"/api/tasks/{task_id}", json={"completed": True}, headers=user.headers)

    everything = (await client.get("/api/tasks", headers=user.headers)).json()
    assert [task["id"] for task in everything] == ids[::-1]

    done = (await client.get("/api/tasks", params={"completed": "true"}, headers=user.headers)).json()
    assert [task["id"] for task in done] == [ids[6], ids[4], ids[2], ids[0]]
    open_ = (await client.get("/api/tasks", params={"completed": "false"}, headers=user.headers)).json()
    assert [task["id"] for task in open_] == [ids[5], ids[3], ids[1]]

    page1 = (await client.get("/api/tasks", params={"limit": 3}, headers=user.headers)).json()
    page2 = (await client.get("/api/tasks", params={"limit": 3, "offset": 3}, headers=user.headers)).json()
    page3 = (await client.get("/api/tasks", params={"limit": 3, "offset": 6}, headers=user.headers)).json()
    assert [t["id"] for t in page1 + page2 + page3] == ids[::-1]
    assert len(page3) == 1
    done_page = (
        await client.get("/api/tasks", params={"completed": "true", "limit": 2, "offset": 1}, headers=user.headers)
    ).json()
    assert [task["id"] for task in done_page] == [ids[4], ids[2]]


async def test_default_page_is_50(client, user):
    for n in range(55):
        await _create(client, user, f"t{n}")
    assert len((await client.get("/api/tasks", headers=user.headers)).json()) == 50


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"completed": "perhaps"}, {"limit": "ten"}]
)
async def test_bad_list_parameters_are_422(client, user, params):
    response = await client.get("/api/tasks", params=params, headers=user.headers)
    assert error_body(response, 422)["errors"]


async def test_other_users_tasks_are_invisible_and_untouchable(client, create_user, db_session):
    victim = await create_user(email="victim@example.com")
    attacker = await create_user(email="attacker@example.com")
    victim_task = await _create(client, victim, "private", "secret notes")
    task_id = victim_task["id"]

    assert (await client.get("/api/tasks", headers=attacker.headers)).json() == []
    get = await client.get(f"/api/tasks/{task_id}", headers=attacker.headers)
    patch = await client.patch(
        f"/api/tasks/{task_id}", json={"title": "pwned", "completed": True}, headers=attacker.headers
    )
    delete = await client.delete(f"/api/tasks/{task_id}", headers=attacker.headers)
    missing = await client.get("/api/tasks/999999", headers=attacker.headers)
    for response in (get, patch, delete):
        assert response.status_code == 404
        assert "private" not in response.text and "secret" not in response.text
    # Indistinguishable from a task that does not exist at all.
    assert get.json() == {"detail": f"Task {task_id} not found"}
    assert missing.json() == {"detail": "Task 999999 not found"}

    # The victim's row is exactly as it was.
    assert (await client.get(f"/api/tasks/{task_id}", headers=victim.headers)).json() == victim_task
    row = await db_session.scalar(select(Task).where(Task.id == task_id))
    assert (row.user_id, row.title, row.description, row.completed) == (victim.id, "private", "secret notes", False)


@pytest.mark.parametrize("task_id", ["0", "-1", "2147483648", "99999999999999999999", "abc"])
async def test_odd_task_ids_are_404_or_422_never_500(client, user, task_id):
    response = await client.get(f"/api/tasks/{task_id}", headers=user.headers)
    assert response.status_code in (404, 422)
    response = await client.patch(f"/api/tasks/{task_id}", json={"completed": True}, headers=user.headers)
    assert response.status_code in (404, 422)


async def test_list_items_have_exactly_the_single_task_shape(client, user):
    created = await _create(client, user, "same shape", "everywhere")
    listed = (await client.get("/api/tasks", headers=user.headers)).json()
    single = (await client.get(f"/api/tasks/{created['id']}", headers=user.headers)).json()
    assert listed == [single] == [created]
