"""One domain module served alone and driven through the SDK's in-memory client."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
import duckdb
from mcp import Client
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError

from analytics.settings import Settings
from mcp_layer import completions

T = TypeVar("T")


@dataclass(frozen=True)
class DomainClient:
    """Calls against a fresh server holding only `register`'s tools, resources and prompts."""

    register: Callable[[MCPServer, Settings], None]

    def session(self, settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
        async def main() -> T:
            server = MCPServer("t")
            self.register(server, settings)
            completions.install(server)
            async with Client(server) as client:
                return await body(client)

        return anyio.run(main)

    def call(self, settings: Settings, tool: str, args: dict[str, Any] | None = None) -> Any:
        return self.session(settings, lambda c: c.call_tool(tool, args or {}))

    def ok(self, settings: Settings, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """The structured content of a call that must succeed."""
        result = self.call(settings, tool, args)
        assert not result.is_error, result.content[0].text
        return result.structured_content

    def error(self, settings: Settings, tool: str, args: dict[str, Any]) -> str:
        """The message of a call that must fail as a tool error (never a stack trace)."""
        result = self.call(settings, tool, args)
        assert result.is_error, result.structured_content
        text = result.content[0].text
        assert "Traceback" not in text
        return text

    def prompt_error(self, settings: Settings, prompt: str, args: dict[str, str]) -> str:
        """The message of the MCP error a prompt answers `args` with."""

        async def body(client: Client) -> str:
            try:
                await client.get_prompt(prompt, args)
            except MCPError as exc:
                return exc.message
            raise AssertionError(f"{prompt} accepted {args}")

        return self.session(settings, body)


def one_row(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> tuple[Any, ...]:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row
