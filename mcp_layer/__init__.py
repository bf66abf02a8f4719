"""MCP servers per domain and one gateway (`mcp_layer.server.build_server`)."""

from .versions import versions

__all__ = ["versions"]
