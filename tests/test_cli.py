"""`psz` refuses bad settings and flags with one line that names the input and the fix, exit code
2, and no traceback (the first-hour issue's table of inputs that used to print one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from psz.cli import app


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "not_a_folder"
    path.write_text("x")
    return path


CASES = [
    # (name, args, env (a_file substituted), text the message must hold)
    ("data dir is a file: demo", ["demo"], {"PSZ_DATA_DIR": "{file}"}, "PSZ_DATA_DIR"),
    ("data dir is a file: generate", ["demo", "generate", "--out", "{tmp}/out"], {"PSZ_DATA_DIR": "{file}"},
     "PSZ_DATA_DIR"),
    ("data dir is a file: ui", ["ui"], {"PSZ_DATA_DIR": "{file}"}, "PSZ_DATA_DIR"),
    ("duckdb path under a file", ["ui"], {"PSZ_DUCKDB_PATH": "{file}/warehouse.duckdb"}, "PSZ_DUCKDB_PATH"),
    ("duckdb path is a folder", ["ui"], {"PSZ_DUCKDB_PATH": "{tmp}"}, "name the DuckDB file"),
    ("--out under a file", ["demo", "generate", "--out", "{file}/out"], {}, "--out"),
    ("--end not a date", ["demo", "generate", "--out", "{tmp}/out", "--end", "2026-13-45"], {}, "YYYY-MM-DD"),
    ("--end a word", ["demo", "generate", "--out", "{tmp}/out", "--end", "yesterday"], {}, "YYYY-MM-DD"),
    ("--port too large", ["mcp", "--port", "99999"], {}, "--port"),
    ("--port negative", ["mcp", "--port", "-1"], {}, "--port"),
    ("ui --port out of range", ["ui", "--port", "70000"], {}, "--port"),
    ("--domains names nothing", ["mcp", "--domains", ","], {}, "names no domain"),
    ("--transport unknown", ["mcp", "--transport", "ftp"], {}, "stdio or http"),
    ("--domains unknown", ["mcp", "--domains", "finanse"], {}, "finance"),
    ("--scale out of range", ["demo", "--scale", "0"], {}, "PSZ_DEMO_SCALE"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args", "env", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_message(
    name: str, args: list[str], env: dict[str, str], expected: str, a_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    for key in ("PSZ_DATA_DIR", "PSZ_DUCKDB_PATH", "PSZ_ENV", "PSZ_WAREHOUSE", "PSZ_SOURCES"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("PSZ_DATA_DIR", str(tmp_path / "data"))  # never the developer's data/

    def fill(text: str) -> str:
        return text.replace("{file}", str(a_file)).replace("{tmp}", str(tmp_path))

    for key, value in env.items():
        monkeypatch.setenv(key, fill(value))
    result = CliRunner().invoke(app, [fill(a) for a in args])
    output = result.output
    assert result.exit_code == 2, (name, result.exit_code, output)
    assert expected in output, (name, output)
    assert "Traceback" not in output and "Error:" not in output.replace("Invalid value", ""), output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), output
    assert not (tmp_path / "data" / "warehouse.duckdb").exists()  # nothing was built
