"""reveal.js slides: the PPTX deck's content written as a Quarto ``.qmd`` and rendered by Quarto.

Reading the finished deck back keeps one source of slide content for both formats.
"""

from __future__ import annotations

import re
from pathlib import Path

from pptx import Presentation

from cadence.report.render import render_revealjs

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!<>|~$@^=:\"'])")


def md_escape(text: str) -> str:
    """Backslash-escape every markdown character, so tracker text stays text."""
    return _SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def deck_markdown(pptx: Path, assets: Path) -> str:
    """The deck as reveal.js markdown: a ``##`` per slide, pictures, bullets, tables and notes."""
    assets.mkdir(parents=True, exist_ok=True)
    parts = ['---\ntitle: "Sprint retro"\nformat:\n  revealjs:\n    embed-resources: true\n---\n']
    for number, slide in enumerate(Presentation(str(pptx)).slides, start=1):
        parts.append(f"## {md_escape(slide.shapes.title.text)}\n")
        for index, shape in enumerate(slide.shapes):
            if shape.shape_type == 13:  # picture
                image = assets / f"slide{number}_{index}.{shape.image.ext}"
                image.write_bytes(shape.image.blob)
                parts.append(f"![]({image.relative_to(pptx.parent).as_posix()})\n")
            elif shape.has_table:
                rows = [[md_escape(cell.text) for cell in row.cells] for row in shape.table.rows]
                parts.append(
                    "\n".join("| " + " | ".join(r) + " |" for r in rows[:1] + [["---"] * len(rows[0])] + rows[1:])
                    + "\n"
                )
            elif shape.has_text_frame and shape != slide.shapes.title:
                parts.append("\n".join(f"- {md_escape(p.text)}" for p in shape.text_frame.paragraphs if p.text) + "\n")
        notes = slide.notes_slide.notes_text_frame.text if slide.has_notes_slide else ""
        if notes:
            parts.append("::: notes\n" + "\n\n".join(md_escape(line) for line in notes.splitlines()) + "\n:::\n")
    return "\n".join(parts)


def write_revealjs(pptx: Path, qmd: Path) -> Path:
    qmd.write_text(deck_markdown(pptx, qmd.parent / f"{qmd.stem}_reveal"), encoding="utf-8")
    return render_revealjs(qmd)
