"""Surviving mutants that behave exactly like the original code, each with the reason (mutmut's name ->
why). mutate.py counts them apart from the score; docs/security.md ("Mutation testing") lists them.
A name that no longer survives (killed, or renumbered after an edit) simply stops matching: re-check
the survivors in dev/bench/results/mutation.json after changing a module."""

from __future__ import annotations

HEADER_NAME_CASE = (
    "changes the letter case of an HTTP header name; Starlette's Headers lowercase the name they look up, "
    "and header names are case-insensitive on the wire"
)

EQUIVALENT: dict[str, str] = {}
