"""The MCP gateway: one `MCPServer` that serves the chosen domains' tools.

Each domain is a module of this package with `register(server, settings)`; the gateway imports
the ones asked for. A domain that offers MCP Apps (HTML views a host renders) also has
`register_apps(apps, settings)`: extensions are fixed when the server is constructed, so those
run first. Every number comes from `analytics/`; nothing here computes a metric.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence

from mcp.server.apps import Apps
from mcp.server.mcpserver import MCPServer

from analytics.settings import Settings, get_settings

# Domain name -> module under mcp_layer. Names line up with the other layers (DESIGN.md).
DOMAINS: dict[str, str] = {
    "business_intelligence": "mcp_layer.business_intelligence",
    "finance": "mcp_layer.financial_management",
    "customer_success": "mcp_layer.customer_success",
    "technical_operations": "mcp_layer.technical_operations",
    "sales_marketing": "mcp_layer.sales_marketing",
}
# The seed's server names, accepted as well
ALIASES: dict[str, str] = {
    "bi": "business_intelligence",
    "financial_management": "finance",
    "techops": "technical_operations",
    "sales_and_marketing": "sales_marketing",
}

INSTRUCTIONS = (
    "Governed business data of a subscription (SaaS) company, computed in its warehouse: revenue "
    "and MRR, finance, customer health and churn, product usage and reliability, sales and "
    "marketing. For a business number call list_metrics, then query_metrics; domain tools "
    "(calculate_mrr, customer_health, list_incidents, lead_scores, ...) answer richer questions; "
    "run_sql reads the marts.* and analytics.* tables for anything else. Every answer carries its "
    "provenance (the SQL that ran, the metric definitions, data freshness): cite it, and warn "
    "when `stale` is true. All tools are read-only."
)


class UnknownDomainError(ValueError):
    pass


def resolve_domains(domains: Sequence[str] | None) -> list[str]:
    """The domains to serve (all when None or empty); unknown names raise with the valid ones."""
    if not domains:
        return list(DOMAINS)
    names = [ALIASES.get(d.strip(), d.strip()) for d in domains if d.strip()]
    unknown = [d for d in names if d not in DOMAINS]
    if unknown:
        raise UnknownDomainError(
            f"unknown domain(s) {', '.join(unknown)}; valid: {', '.join(DOMAINS)}"
        )
    return list(dict.fromkeys(names))


def quiet_libraries() -> None:
    """MetricFlow logs a multi-line INFO block for every query it compiles (rich-formatted, to
    stderr): noise for a server answering many queries, and measurable time. Keep its warnings."""
    for name in ("metricflow", "metricflow_semantics", "dbt_semantic_interfaces"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_server(
    domains: Sequence[str] | None = None, settings: Settings | None = None
) -> MCPServer:
    """One server with the tools of `domains` (all by default), reading through `settings`."""
    settings = settings or get_settings()
    names = resolve_domains(domains)
    quiet_libraries()
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
