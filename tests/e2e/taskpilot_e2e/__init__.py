"""Helpers for the TaskPilot AI end-to-end suite (tests/e2e)."""
