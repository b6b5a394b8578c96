"""The walkthrough notebook runs clean from a fresh checkout, with the venv's python3 kernel, and its
charts show offline: drawn to SVG in the kernel (vl-convert), with no script to load from anywhere."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_executes_without_errors_and_draws_offline(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    charts = [out for out in outputs if "image/svg+xml" in out.get("data", {})]
    assert len(charts) >= 11
    assert all("<svg" in out["data"]["image/svg+xml"] for out in charts)
    # Nothing a browser would fetch: no Vega from a CDN (the old renderer's jsdelivr <script>), no script at all.
    html = "".join(out.get("data", {}).get("text/html", "") for out in outputs)
    assert not re.search(r"cdn\.jsdelivr|<script", html)
    assert not [out for out in outputs if "application/vnd.vegalite.v6+json" in out.get("data", {})]
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "report.html" in printed and ".pptx" in printed
    assert "learnings" in printed
    assert "fast feedback: " in printed and "another cadence: " in printed  # the verdict
