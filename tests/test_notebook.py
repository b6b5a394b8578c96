"""The walkthrough notebook runs clean from a fresh checkout, with the venv's python3 kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


def test_walkthrough_executes_without_errors(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    charts = [
        out
        for out in outputs
        if "application/vnd.vegalite.v6+json" in out.get("data", {}) or "text/html" in out.get("data", {})
    ]
    assert len(charts) >= 10
    printed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "report.html" in printed and ".pptx" in printed
    assert "learnings" in printed
