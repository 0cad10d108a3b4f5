"""MCP server exposing the task tools (mounted at /mcp)."""
