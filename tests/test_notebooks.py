"""The analyst notebooks run top to bottom against the session's demo warehouse (nbclient, the
test environment's own Python as kernel, settings from `PSZ_DATA_DIR`); any cell error fails."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from analytics.settings import Settings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ("mrr_and_revenue_forecast", "churn_risk_and_health", "api_performance_capacity_incidents")


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `python3` kernelspec pointing at this interpreter, in a temporary Jupyter path (nothing
    is installed into the user's or the environment's Jupyter directories)."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(prefix=str(prefix), kernel_name="python3")
    return prefix / "share" / "jupyter"


def test_every_notebook_is_listed_in_the_readme() -> None:
    readme = (NOTEBOOKS / "README.md").read_text()
    assert {p.stem for p in NOTEBOOKS.glob("*.ipynb")} == set(NAMES)
    for name in NAMES:
        assert f"{name}.ipynb" in readme


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(
    name: str,
    dbt_settings: Settings,
    kernel_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_env))
    monkeypatch.setenv("PSZ_DATA_DIR", str(dbt_settings.data_dir))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    client = NotebookClient(
        nb, kernel_name="python3", timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError naming the failing cell
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 2, f"{name} rendered {len(images)} charts"
