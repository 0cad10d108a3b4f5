"""The /api router registry: each feature adds one include_router line."""

from __future__ import annotations

from fastapi import APIRouter

from app.api import auth, chat, chatkit, conversations, events, health, tasks

api_router = APIRouter(prefix="/api")
api_router.add_api_route("/health", health.health, methods=["GET"], tags=["health"], summary="Liveness (via /api)")
api_router.include_router(tasks.router)  # first: the hottest routes match after the fewest checks
api_router.include_router(auth.router)
api_router.include_router(events.router)  # realtime: GET /api/events (SSE)
api_router.include_router(chat.router)  # assistant: POST /api/chat
api_router.include_router(conversations.router)  # assistant: GET /api/conversations[/{id}/messages]
api_router.include_router(chatkit.router)  # assistant: POST /api/chatkit
