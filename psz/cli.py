"""`psz`: the command line of the platform.

    psz demo                      generate the demo company and materialize everything (DuckDB)
    psz demo generate --out DIR   only write the demo company's source files
    psz ui                        open the Dagster UI on the project's definitions
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from analytics.settings import Settings, SettingsError, folder_problem, load_settings

app = typer.Typer(help="PsiZero analytics platform.", no_args_is_help=True, add_completion=False)
demo_app = typer.Typer(help="The demo company: generate it and run the whole platform on it.")
app.add_typer(demo_app, name="demo")

Scale = Annotated[float | None, typer.Option(help="Size: 1 = ~1,000 customers (PSZ_DEMO_SCALE)")]
Seed = Annotated[int | None, typer.Option(help="Random seed; same seed, same company (PSZ_DEMO_SEED)")]
Months = Annotated[int | None, typer.Option(help="Months of history (PSZ_DEMO_MONTHS)")]


def _settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except SettingsError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


def _iso_date(value: str | None) -> str | None:
    """A YYYY-MM-DD option, checked where typer parses it (a bad one is a usage error, exit 2)."""
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date: use YYYY-MM-DD, e.g. 2026-10-31") from None
    return value


def _out_folder(value: Path) -> Path:
    problem = folder_problem(value)
    if problem:
        raise typer.BadParameter(f"{problem}: give a folder (created if missing)")
    return value


def _dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    # Dagster finds its instance (run history, event log) through DAGSTER_HOME.
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@demo_app.callback(invoke_without_command=True)
def demo(ctx: typer.Context, scale: Scale = None, seed: Seed = None, months: Months = None) -> None:
    """Generate the demo company and materialize every asset into the local DuckDB warehouse."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(demo_scale=scale, demo_seed=seed, demo_months=months)
    if settings.source_kind != "demo" or settings.warehouse_kind != "duckdb":
        typer.secho("`psz demo` runs on the demo company and DuckDB: unset PSZ_ENV/PSZ_SOURCES/PSZ_WAREHOUSE.",
                    fg=typer.colors.RED, err=True)  # fmt: skip
        raise typer.Exit(2)
    from dagster import DagsterInstance

    from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

    _dagster_home(settings)
    # dlt warns at every load about demo columns that are null in every record (e.g. Stripe's
    # `customer.phone`); in the demo that is expected noise. Real sources keep the warnings.
    logging.getLogger("dlt").setLevel(logging.ERROR)
    started = time.perf_counter()
    typer.echo(f"Building the demo company (scale {settings.demo_scale}, seed {settings.demo_seed}) "
               f"into {settings.warehouse_path} ...")  # fmt: skip
    defs = build_definitions(settings)
    with DagsterInstance.get() as instance:
        result = defs.resolve_job_def(MATERIALIZE_EVERYTHING).execute_in_process(instance=instance)
    if not result.success:
        typer.secho("The demo run failed; the Dagster log above says where.", fg=typer.colors.RED, err=True)
        raise typer.Exit(1)
    _print_summary(settings, time.perf_counter() - started)


@demo_app.command("generate")
def demo_generate(
    out: Annotated[Path, typer.Option(help="Folder to write the source files into", callback=_out_folder)],
    scale: Scale = None, seed: Seed = None, months: Months = None,
    end: Annotated[str | None, typer.Option(help="Last day of history, YYYY-MM-DD", callback=_iso_date)] = None,
) -> None:  # fmt: skip
    """Write the demo company as source files: Stripe JSON Lines, app tables and usage as Parquet."""
    settings = _settings(demo_scale=scale, demo_seed=seed, demo_months=months,
                         demo_end_date=dt.date.fromisoformat(end) if end else None)  # fmt: skip
    from orchestration.demo_company import generate

    started = time.perf_counter()
    company = generate(out, seed=settings.demo_seed, scale=settings.demo_scale,
                       months=settings.demo_months, end=settings.demo_end_date)  # fmt: skip
    for name, n in company.row_counts().items():
        typer.echo(f"  {name:<32} {n:>10,}")
    typer.echo(f"Wrote {out} in {time.perf_counter() - started:.1f}s ({company.start} .. {company.end}).")


@app.command()
def ui(port: Annotated[int, typer.Option(help="Port of the Dagster UI", min=1, max=65535)] = 3000) -> None:
    """Open the Dagster UI (asset graph, runs, metadata) on this project's definitions."""
    settings = _settings()
    _dagster_home(settings)
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or "dagster"
    typer.echo(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C to stop)")
    os.execvp(dagster, [dagster, "dev", "-m", "orchestration.definitions", "-h", "127.0.0.1", "-p", str(port)])


@app.command()
def mcp(
    transport: Annotated[str, typer.Option(help="stdio (for a local client) or http (streamable HTTP)")] = "stdio",
    domains: Annotated[str | None, typer.Option(help="Comma-separated domains to serve (default: all): "
                                                     "business_intelligence, finance, customer_success, "
                                                     "technical_operations, sales_marketing")] = None,
    host: Annotated[str, typer.Option(help="HTTP host (http transport only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP port (http transport only)", min=1, max=65535)] = 8000,
) -> None:
    """Serve the governed metrics to an AI assistant over MCP (stdio by default)."""
    from mcp_layer.server import UnknownDomainError, build_server

    if transport not in ("stdio", "http"):
        typer.secho(f"--transport must be stdio or http, not {transport!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    names = None if domains is None else [d.strip() for d in domains.split(",") if d.strip()]
    if names is not None and not names:
        typer.secho(f"--domains {domains!r} names no domain: list one or more, comma-separated, or leave "
                    "--domains out to serve all five", fg=typer.colors.RED, err=True)  # fmt: skip
        raise typer.Exit(2)
    settings = _settings()
    try:
        server = build_server(names, settings)
    except UnknownDomainError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if transport == "stdio":
        server.run("stdio")  # stdout carries the protocol: nothing else may print to it
    else:
        typer.echo(f"MCP server on http://{host}:{port}/mcp (Ctrl-C to stop)", err=True)
        server.run("streamable-http", host=host, port=port)


def _print_summary(settings: Settings, seconds: float) -> None:
    import duckdb

    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw_stripe', 'raw_supabase', 'raw_usage', 'demo_truth') "
            "and table_name not like '\\_dlt%' escape '\\' and table_name not like '%\\_\\_%' escape '\\' "
            "order by 1, 2"
        ).fetchall()
        typer.echo(f"\nDone in {seconds:.1f}s. Warehouse: {settings.warehouse_path}")
        for schema, table in rows:
            n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            flag = "  <- malformed records, see reason column" if table == "quarantine" and n and n[0] else ""
            typer.echo(f"  {schema + '.' + table:<40} {n[0] if n else 0:>10,}{flag}")
    _print_headlines(settings)
    typer.echo(
        "\nNext steps:\n"
        "  psz ui                      browse the asset graph and run metadata in Dagster\n"
        "  uv run python -c \"from analytics import metrics; print(metrics.query('mrr').data)\"\n"
        "                              ask for a governed metric (notebooks/ has more)\n"
        "  make test                   run every test"
    )


def _print_headlines(settings: Settings) -> None:
    """A few governed numbers and the top insights, to show the whole chain answered."""
    from analytics import metrics
    from analytics.warehouse import run_query

    data = metrics.query(["mrr", "arr", "paying_customers", "average_health_score"], grain="month",
                         settings=settings).data  # fmt: skip
    last = data.row(-1, named=True)
    typer.echo(
        f"\nHeadlines for {last['period']:%B %Y}: MRR ${last['mrr']:,.0f} | ARR ${last['arr']:,.0f} | "
        f"{last['paying_customers']:,.0f} paying customers | average health {last['average_health_score']:.1f}"
    )
    top = run_query(settings, "select priority, title from analytics.insights order by rank limit 3")
    for priority, title in top.iter_rows():
        typer.echo(f"  [{priority}] {title}")


def main() -> None:  # pragma: no cover - console entry point
    app()
