"""A local BigQuery emulator (`bqemulator`, DuckDB-backed) for tests, in its own tool environment.

The emulator needs DuckDB 1.5.5 (the project uses DuckDB 2.x, hence a separate environment run
by `uv tool run`), numpy (for its Python UDFs), and DuckDB's `spatial` extension installed before
it starts: it runs `INSTALL spatial`, which would download the extension, and there is no such
download here. `duckdb-extension-spatial` ships the extension in a wheel; `serve` (this file run
as a script inside the tool environment) installs it from there, then starts the emulator.

    with running_emulator(project="psz-test", log_path=...) as endpoint:  # http://127.0.0.1:PORT
        ...

`running_emulator` raises `EmulatorUnavailable` when uv is missing or the install or the start
fails (the message carries the end of the emulator's log); it always stops the process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

# the tool environment, pinned (bqemulator 1.4.0 was built against DuckDB 1.5.x)
TOOL_PACKAGES = (
    "bqemulator==1.4.0",
    "duckdb==1.5.5",
    "duckdb-extension-spatial==1.5.5",
    "numpy==2.4.6",
)
STARTUP_TIMEOUT_S = 150.0  # first run: uv downloads about 80 MB of wheels


class EmulatorUnavailable(RuntimeError):
    """The emulator could not be installed or started; the message says why."""


def find_uv() -> list[str] | None:
    """The uv command: `UV` (set by `uv run`), uv on PATH, the Makefile's `.tools/bin/uv`, or
    the `uv` Python package of this interpreter."""
    candidates = [
        os.environ.get("UV"),
        shutil.which("uv"),
        str(Path(__file__).resolve().parents[2] / ".tools/bin/uv"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return [candidate]
    with contextlib.suppress(ImportError):
        import uv  # type: ignore[import-not-found]  # noqa: F401

        return [sys.executable, "-m", "uv"]
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(uv: list[str], port: int, project: str) -> list[str]:
    """The full command line: `uv tool run --from bqemulator==... --with ... python THIS serve ...`."""
    tool, *extra = TOOL_PACKAGES
    withs = [arg for pkg in extra for arg in ("--with", pkg)]
    return [
        *uv, "tool", "run", "--from", tool, *withs, "python", str(Path(__file__).resolve()), "serve",
        "start", "--ephemeral", "--rest-host", "127.0.0.1", "--rest-port", str(port),
        "--grpc-host", "127.0.0.1", "--grpc-port", "0", "--project", project,
        "--log-level", "warning", "--log-format", "console",
    ]  # fmt: skip


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the whole process group (uv, python, the emulator), then kill what is left."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def running_emulator(
    project: str, log_path: Path, timeout_s: float = STARTUP_TIMEOUT_S
) -> Iterator[str]:
    """Start the emulator on a free loopback port, yield its REST endpoint, always stop it."""
    uv = find_uv()
    if uv is None:
        raise EmulatorUnavailable("uv not found (needed to run bqemulator in its own environment)")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"  # Avro extension: would try to download
    with running_until_ready("bqemulator", command(uv, port, project), env, log_path,
                             f"http://127.0.0.1:{port}", "/readyz", timeout_s) as endpoint:  # fmt: skip
        yield endpoint


@contextlib.contextmanager
def running_until_ready(
    name: str, cmd: list[str], env: dict[str, str], log_path: Path, endpoint: str, health_path: str,
    timeout_s: float,
) -> Iterator[str]:  # fmt: skip
    """Run `cmd` in its own process group (log in `log_path`), wait until `endpoint + health_path`
    answers 200, yield `endpoint`, and always stop the whole group. Shared by both emulators."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + timeout_s
        while not _ready(endpoint + health_path):
            if proc.poll() is not None:
                raise EmulatorUnavailable(
                    f"{name} exited with code {proc.returncode} before it was ready:\n{_tail(log_path)}"
                )
            if time.monotonic() > deadline:
                raise EmulatorUnavailable(f"{name} not ready after {timeout_s:.0f} s:\n{_tail(log_path)}")
            time.sleep(0.3)
        yield endpoint
    finally:
        _stop(proc)


# ----------------------------------------------------------------------------- inside the tool env
def serve(argv: list[str]) -> None:
    """Install the spatial extension from its wheel, then run the bqemulator CLI with `argv`."""
    import duckdb
    import duckdb_extension_spatial  # type: ignore[import-not-found]

    ext = (
        Path(duckdb_extension_spatial.__file__).parent / "extensions" / f"v{duckdb.__version__}"
        / "spatial.duckdb_extension"
    )  # fmt: skip
    duckdb.execute(f"INSTALL '{ext}'")  # into DuckDB's extension folder (~/.duckdb/extensions)

    from bqemulator.cli import main  # type: ignore[import-not-found]

    sys.argv = ["bqemulator", *argv]
    main()


if __name__ == "__main__":
    if sys.argv[1:2] != ["serve"]:
        sys.exit(f"usage: {sys.argv[0]} serve <bqemulator arguments>")
    serve(sys.argv[2:])
