"""The task service directly (the door used by assistant tools and MCP)."""

from __future__ import annotations

import pytest

from app.services import tasks as task_service


async def test_service_round_trip_and_isolation(db_session, create_user):
    owner, other = await create_user(), await create_user()
    task = await task_service.create_task(db_session, owner.id, title="  Write report  ", description="Q3")
    assert task.title == "Write report"  # trimmed like the REST schema does

    with pytest.raises(task_service.TaskNotFound):
        await task_service.get_task(db_session, other.id, task.id)
    with pytest.raises(task_service.TaskNotFound):
        await task_service.update_task(db_session, other.id, task.id, completed=True)
    with pytest.raises(task_service.TaskNotFound):
        await task_service.delete_task(db_session, other.id, task.id)
    assert await task_service.list_tasks(db_session, other.id) == []

    updated = await task_service.update_task(db_session, owner.id, task.id, completed=True)
    assert (updated.title, updated.description, updated.completed) == ("Write report", "Q3", True)
    unchanged = await task_service.update_task(db_session, owner.id, task.id)
    assert unchanged.completed is True
    cleared = await task_service.update_task(db_session, owner.id, task.id, description=None)
    assert cleared.description is None and cleared.title == "Write report"

    await task_service.delete_task(db_session, owner.id, task.id)
    with pytest.raises(task_service.TaskNotFound):
        await task_service.get_task(db_session, owner.id, task.id)


async def test_find_tasks_by_title_is_case_insensitive_contains(db_session, create_user):
    owner, other = await create_user(), await create_user()
    for title in ("Buy MILK", "milkshake recipe", "Call mom", "100% done_ok"):
        await task_service.create_task(db_session, owner.id, title=title)
    await task_service.create_task(db_session, other.id, title="milk for someone else")

    found = await task_service.find_tasks_by_title(db_session, owner.id, "Milk")
    assert [task.title for task in found] == ["milkshake recipe", "Buy MILK"]
    # LIKE wildcards are literal text, not patterns.
    assert [t.title for t in await task_service.find_tasks_by_title(db_session, owner.id, "%")] == ["100% done_ok"]
    assert [t.title for t in await task_service.find_tasks_by_title(db_session, owner.id, "_ok")] == ["100% done_ok"]
    assert await task_service.find_tasks_by_title(db_session, owner.id, "nothing") == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"title": ""}, "title"),
        ({"title": "t" * 201}, "200"),
        ({"title": None}, "title"),
        ({"title": "ok", "description": "d" * 2001}, "2000"),
        ({"title": "bad\x00"}, "NUL"),
    ],
)
async def test_service_rejects_invalid_data(db_session, user, kwargs, message):
    with pytest.raises(task_service.InvalidTaskData, match=message):
        await task_service.create_task(db_session, user.id, **kwargs)
    assert await task_service.list_tasks(db_session, user.id) == []


async def test_list_limits_are_clamped(db_session, user):
    for n in range(3):
        await task_service.create_task(db_session, user.id, title=f"t{n}")
    assert len(await task_service.list_tasks(db_session, user.id, limit=0)) == 1
    assert len(await task_service.list_tasks(db_session, user.id, limit=10_000)) == 3
    assert [t.title for t in await task_service.list_tasks(db_session, user.id, offset=2)] == ["t0"]


@pytest.mark.parametrize("task_id", [0, -5, 2**31, 10**30])
async def test_impossible_ids_are_not_found(db_session, user, task_id):
    with pytest.raises(task_service.TaskNotFound):
        await task_service.get_task(db_session, user.id, task_id)
    with pytest.raises(task_service.TaskNotFound):
        await task_service.delete_task(db_session, user.id, task_id)
