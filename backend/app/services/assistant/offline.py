"""Deterministic assistant used when no OPENAI_API_KEY is configured.

It understands a few plain commands and runs them through the same tools as the AI agent:
  add buy milk · list my open tasks · complete buy milk · complete 3 · rename 2 to call mum ·
  delete the milk task
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.services.assistant.tools import ToolResult, execute_tool

OFFLINE_NOTE = "(Offline mode: no AI model is configured, so I understand simple commands only.)"
HELP_TEXT = (
    "I can manage your tasks with commands like:\n"
    '- "add buy milk" — create a task\n'
    '- "list my tasks", "list my open tasks", "list my completed tasks"\n'
    '- "complete buy milk" or "complete 3" — mark a task done\n'
    '- "rename 2 to call mum" — change a title\n'
    '- "delete the milk task" or "delete 3" — remove a task'
)


@dataclass(frozen=True)
class Command:
    tool: str
    arguments: dict[str, Any]


_FILLER = re.compile(r"^(?:please\s+|can you\s+|could you\s+)+", re.IGNORECASE)
_ADD = re.compile(
    r"^(?:add|create|new)(?:\s+(?:a\s+)?(?:new\s+)?task)?\s*[:\-]?\s+(?P<title>.+)$", re.IGNORECASE | re.DOTALL
)
_LIST = re.compile(
    r"^(?:list|show|view|what are|what's|whats)\b(?:\s+(?:me|all|of))*(?:\s+my)?"
    r"(?:\s+(?P<status>open|pending|todo|to-do|incomplete|unfinished|active|completed|complete|done|finished))?"
    r"\s*(?:tasks?|to-?dos?)?\s*[?.!]?$",
    re.IGNORECASE,
)
_COMPLETE = re.compile(
    r"^(?:complete|finish|done|check off|mark)\s+(?P<ref>.+?)(?:\s+(?:as\s+)?(?:done|complete|completed|finished))?$",
    re.IGNORECASE,
)
_RENAME = re.compile(
    r"^(?:rename|retitle|change)\s+(?:task\s+)?#?(?P<id>\d+)\s+(?:to|as|into)\s+(?P<title>.+)$",
    re.IGNORECASE | re.DOTALL,
)
_DELETE = re.compile(r"^(?:delete|remove|drop)\s+(?P<ref>.+)$", re.IGNORECASE)
_STATUS_WORDS = {
    "open": "open",
    "pending": "open",
    "todo": "open",
    "to-do": "open",
    "incomplete": "open",
    "unfinished": "open",
    "active": "open",
    "completed": "completed",
    "complete": "completed",
    "done": "completed",
    "finished": "completed",
}


def _task_ref(text: str) -> dict[str, Any]:
    """'3', '#3', 'task 3' → by id; 'the milk task' → by title text 'milk'."""
    text = text.strip().rstrip(".!?").strip()
    by_id = re.fullmatch(r"(?:task\s+)?(?:number\s+)?#?(\d+)", text, re.IGNORECASE)
    if by_id:
        return {"task_id": int(by_id.group(1))}
    text = re.sub(r"^(?:the|my|a)\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^task\s+", "", text, flags=re.IGNORECASE)
    text = re.sub(r"\s+task$", "", text, flags=re.IGNORECASE)
    return {"title": text.strip().strip("\"'")}


def parse(message: str) -> Command | None:
    """The tool call a plain-language command means, or None when it isn't understood."""
    text = _FILLER.sub("", message.strip()).strip()
    if match := _RENAME.match(text):
        return Command("update_task", {"task_id": int(match["id"]), "title": match["title"].strip().strip("\"'")})
    if match := _LIST.match(text):
        status = _STATUS_WORDS.get((match["status"] or "").lower(), "all")
        return Command("list_tasks", {"status": status})
    if match := _ADD.match(text):
        return Command("add_task", {"title": match["title"].strip().strip("\"'")})
    if match := _COMPLETE.match(text):
        return Command("complete_task", _task_ref(match["ref"]))
    if match := _DELETE.match(text):
        return Command("delete_task", _task_ref(match["ref"]))
    return None


def describe(command: Command, result: ToolResult) -> str:
    if not result.get("ok"):
        return f"I couldn't do that: {result.get('error')}"
    if command.tool == "list_tasks":
        tasks = result["tasks"]
        label = {"all": "", "open": "open ", "completed": "completed "}[result["status"]]
        if not tasks:
            return f"You have no {label}tasks."
        lines = [f"- #{t['id']} {t['title']}{' (done)' if t['completed'] else ''}" for t in tasks]
        return f"Your {label}tasks:\n" + "\n".join(lines)
    if command.tool == "delete_task":
        return f'Deleted task #{result["deleted"]["id"]} "{result["deleted"]["title"]}".'
    task = result["task"]
    verb = {"add_task": "Added", "complete_task": "Completed", "update_task": "Updated"}[command.tool]
    return f'{verb} task #{task["id"]} "{task["title"]}".'


async def respond_offline(session: AsyncSession, user_id: int, message: str) -> tuple[str, list[dict[str, Any]]]:
    """(reply, actions) for one message, without any model."""
    command = parse(message)
    if command is None:
        return f"{OFFLINE_NOTE} I didn't understand that.\n{HELP_TEXT}", []
    result = await execute_tool(session, user_id, command.tool, command.arguments)
    action = {"tool": command.tool, "arguments": command.arguments, "result": result}
    return f"{OFFLINE_NOTE} {describe(command, result)}", [action]
