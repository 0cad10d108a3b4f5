"""Assistant: task tools, AI agent, offline interpreter, conversation store."""
