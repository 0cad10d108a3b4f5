"""The API benchmark's raw twin (dev/bench/raw_twin_app.py) and our task service return the same rows.

The benchmark reports our routes as a ratio to the raw twin's; that ratio only means something if
both do the same work: same rows, same order, same JSON bytes, same write.
"""

from __future__ import annotations

import importlib.util
from dataclasses import asdict

import orjson

from app.services import tasks as task_service
from taskpilot_dev.paths import REPO_ROOT


def _load_raw_twin():
    # A benchmark script, not a package module: load it from its file.
    spec = importlib.util.spec_from_file_location("raw_twin_app", REPO_ROOT / "dev" / "bench" / "raw_twin_app.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


raw_twin = _load_raw_twin()


async def test_raw_list_query_and_ours_return_the_same_page(app, client, create_user) -> None:
    owner, other = await create_user(), await create_user()
    async with app.services.db.pool.connection() as connection:
        for number in range(60):  # more than one page, so order and LIMIT both matter
            task = await task_service.create_task(
                connection, owner.id, title=f"task {number}", description="d" * (number % 3)
            )
            if number % 4 == 0:
                await task_service.update_task(connection, owner.id, task.id, completed=True)
        await task_service.create_task(connection, other.id, title="someone else's")

        ours = await task_service.list_task_rows(connection, owner.id)
        theirs = await raw_twin.list_rows(connection, owner.id)
    assert len(ours) == 50
    assert ours == theirs
    assert [row["title"] for row in ours][:2] == ["task 59", "task 58"]  # newest first

    response = await client.get("/api/tasks", headers=owner.headers)
    assert response.status_code == 200
    assert response.content == orjson.dumps(theirs, option=raw_twin.JSON_OPTIONS)  # same bytes on the wire


async def test_raw_create_and_ours_write_the_same_row_and_event(app, create_user) -> None:
    owner = await create_user()
    async with app.services.db.pool.connection() as connection:
        await connection.execute("LISTEN task_events")
        theirs = await raw_twin.create_row(connection, owner.id, "same title", "same description")
        ours = asdict(
            await task_service.create_task(connection, owner.id, title="same title", description="same description")
        )
        notifications = []
        async for notify in connection.notifies(timeout=2, stop_after=2):
            notifications.append(orjson.loads(notify.payload))
        await connection.execute("UNLISTEN task_events")
    assert theirs.keys() == ours.keys()
    for column in ("title", "description", "completed"):
        assert theirs[column] == ours[column]
    assert notifications == [
        {"user_id": owner.id, "type": "created", "task_id": theirs["id"]},
        {"user_id": owner.id, "type": "created", "task_id": ours["id"]},
    ]
