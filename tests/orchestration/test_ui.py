"""`psz ui` serves the Dagster UI with the project's asset graph."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

QUERY = '{"query": "{ assetNodes { assetKey { path } groupName } }"}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_psz_ui_serves_the_asset_graph(tmp_path: Path) -> None:
    port = _free_port()
    psz = Path(sys.executable).parent / "psz"
    env = {**os.environ, "PSZ_DATA_DIR": str(tmp_path / "data"), "PSZ_DEMO_SCALE": "0.05"}
    # its own session: `dagster dev` and its children only stop when the whole group is signalled
    proc = subprocess.Popen([str(psz), "ui", "--port", str(port)], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    try:
        deadline, nodes = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=QUERY.encode(),
                                             headers={"Content-Type": "application/json"})  # fmt: skip
                with urllib.request.urlopen(req, timeout=5) as resp:
                    nodes = json.load(resp)["data"]["assetNodes"]
                    if nodes:
                        break
            except (OSError, KeyError, TypeError):
                time.sleep(1)
        assert nodes, f"UI did not answer: {proc.stderr.read().decode()[-2000:] if proc.poll() is not None else 'timeout'}"
        keys = {"/".join(n["assetKey"]["path"]): n["groupName"] for n in nodes}
        assert keys["raw_stripe/invoices"] == "stripe"
        assert keys["raw_supabase/organizations"] == "supabase"
        assert keys["raw_usage/api_requests"] == "usage"
        assert keys["demo_company/source_files"] == "demo_company"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
