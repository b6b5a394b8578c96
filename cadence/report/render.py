"""Turn an emitted ``.qmd`` into HTML: with Quarto when it is on PATH, else with pypandoc's pandoc."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

from cadence.errors import CadenceError

log = logging.getLogger(__name__)


def quarto_path() -> str | None:
    return shutil.which("quarto")


def _run(command: list[str], cwd: Path, source: Path) -> None:
    log.info("running %s", " ".join(command))
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CadenceError(f"{Path(command[0]).name} could not render {source}: {tail[0]}")


def render_html(qmd: Path, head: Path, after_body: Path) -> Path:
    """Render ``qmd`` to one self-contained HTML file beside it and return its path.

    Quarto reads the includes from the front matter. Pandoc is given the same files on the command
    line; nothing in them is external, so no ``--embed-resources`` pass (which would fetch) is needed.
    """
    out = qmd.with_suffix(".html")
    quarto = quarto_path()
    if quarto:
        _run([quarto, "render", qmd.name, "--to", "html"], cwd=qmd.parent, source=qmd)
        return out
    import pypandoc

    pandoc = pypandoc.get_pandoc_path()
    _run(
        [
            pandoc,
            "--from",
            "markdown-tex_math_dollars-tex_math_single_backslash",
            qmd.name,
            "--to",
            "html5",
            "--standalone",
            "--toc",
            "--toc-depth=2",
            "--include-in-header",
            str(head.relative_to(qmd.parent)),
            "--include-after-body",
            str(after_body.relative_to(qmd.parent)),
            "--output",
            out.name,
        ],
        cwd=qmd.parent,
        source=qmd,
    )
    return out


def render_revealjs(qmd: Path) -> Path:
    """Render a slide ``.qmd`` with Quarto, which bundles reveal.js; without Quarto, say so."""
    quarto = quarto_path()
    if not quarto:
        raise CadenceError(
            "reveal.js slides need Quarto (https://quarto.org) on PATH, which bundles reveal.js; "
            "install it or use --format pptx, which works offline"
        )
    _run([quarto, "render", qmd.name, "--to", "revealjs"], cwd=qmd.parent, source=qmd)
    return qmd.with_suffix(".html")
