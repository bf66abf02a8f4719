"""The MCP gateway: one `MCPServer` that serves the chosen domains' tools.

Each domain is a module of this package with `register(server, settings)`; the gateway imports
the ones asked for. A domain that offers MCP Apps (HTML views a host renders) also has
`register_apps(apps, settings)`: extensions are fixed when the server is constructed, so those
run first. Every number comes from `analytics/`; nothing here computes a metric.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from mcp.server.apps import Apps
from mcp.server.mcpserver import MCPServer

from analytics.settings import Settings, get_settings

# Domain name -> module under mcp_layer. Names line up with the other layers (DESIGN.md).
DOMAINS: dict[str, str] = {
    "business_intelligence": "mcp_layer.business_intelligence",
}

INSTRUCTIONS = (
    "Governed business metrics of a subscription (SaaS) company: MRR, ARR, customers, churn, "
    "health and more, computed in the warehouse. Call list_metrics first to learn metric and "
    "dimension names, then query_metrics. Every answer carries the SQL that ran, the metric "
    "definitions and data freshness: cite them, and warn when the data is stale."
)


class UnknownDomainError(ValueError):
    pass


def resolve_domains(domains: Sequence[str] | None) -> list[str]:
    """The domains to serve (all when None or empty); unknown names raise with the valid ones."""
    if not domains:
        return list(DOMAINS)
    names = [d.strip() for d in domains if d.strip()]
    unknown = [d for d in names if d not in DOMAINS]
    if unknown:
        raise UnknownDomainError(
            f"unknown domain(s) {', '.join(unknown)}; valid: {', '.join(DOMAINS)}"
        )
    return list(dict.fromkeys(names))


def build_server(
    domains: Sequence[str] | None = None, settings: Settings | None = None
) -> MCPServer:
    """One server with the tools of `domains` (all by default), reading through `settings`."""
    settings = settings or get_settings()
    names = resolve_domains(domains)
    from mcp_layer import completions, versions

    modules = [importlib.import_module(DOMAINS[name]) for name in names]
    apps = Apps()
    for module in modules:
        if hasattr(module, "register_apps"):
            module.register_apps(apps, settings)
    server = MCPServer(name="psz", title="PsiZero analytics", instructions=INSTRUCTIONS,
                       version=versions()["psz-platform"] or "", extensions=[apps])  # fmt: skip
    for module in modules:
        module.register(server, settings)
    completions.install(server)
    return server
