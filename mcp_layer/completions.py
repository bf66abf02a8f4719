"""Argument completion for prompts and resource templates, shared by every domain.

MCP has one `completion/complete` handler per server, so domains register providers by argument
name (`metric`, `customer_id`, ...) and the gateway installs a single handler that dispatches on it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from mcp.server.mcpserver import MCPServer
from mcp.types import Completion, CompletionArgument

MAX_VALUES = 100  # the protocol's cap on values per completion response

Provider = Callable[[str], list[str]]
_PROVIDERS: weakref.WeakKeyDictionary[MCPServer, dict[str, Provider]] = weakref.WeakKeyDictionary()


def provide(server: MCPServer, argument: str, provider: Provider) -> None:
    """Complete arguments named `argument` (in any prompt or resource template) with
    `provider(partial)`, a list of candidate values."""
    _PROVIDERS.setdefault(server, {})[argument] = provider


def install(server: MCPServer) -> None:
    """Install the one completion handler that dispatches on the argument name."""
    providers = _PROVIDERS.get(server, {})

    @server.completion()
    async def complete(ref: object, argument: CompletionArgument, context: object) -> Completion | None:
        provider = providers.get(argument.name)
        if provider is None:
            return None
        partial = argument.value.lower()
        values = [v for v in provider(argument.value) if partial in v.lower()]
        # prefix matches first, then the rest in the provider's order
        values.sort(key=lambda v: not v.lower().startswith(partial))
        return Completion(values=values[:MAX_VALUES], total=len(values), has_more=len(values) > MAX_VALUES)
