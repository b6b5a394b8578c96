"""Small python-pptx helpers: a titled slide, a fitted picture, bullets, a table, speaker notes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image
from pptx import Presentation
from pptx.presentation import Presentation as Deck
from pptx.slide import Slide
from pptx.util import Emu, Inches, Pt

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
TITLE_ONLY = 5


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float  # inches


def new_deck() -> Deck:
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    return deck


def titled(deck: Deck, title: str, layout: int = TITLE_ONLY) -> Slide:
    slide = deck.slides.add_slide(deck.slide_layouts[layout])
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = Inches(0.5), Inches(0.3), WIDTH - Inches(1.0), Inches(1.0)
    shape.text = title
    for paragraph in shape.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(30)
    return slide


def picture(slide: Slide, png: Path, box: Box) -> None:
    """Place ``png`` inside ``box``, as large as fits, keeping its aspect ratio."""
    with Image.open(png) as image:
        w, h = image.size
    scale = min(box.width / w, box.height / h)
    width, height = w * scale, h * scale
    slide.shapes.add_picture(str(png), Inches(box.left), Inches(box.top), Inches(width), Inches(height))


def bullets(slide: Slide, lines: Sequence[str | tuple[str, str | None]], box: Box, size: int = 16) -> None:
    """A text box with one paragraph per line; a ``(text, url)`` line is a hyperlink."""
    frame = slide.shapes.add_textbox(
        Inches(box.left), Inches(box.top), Inches(box.width), Inches(box.height)
    ).text_frame
    frame.word_wrap = True
    for i, line in enumerate(lines):
        text, url = line if isinstance(line, tuple) else (line, None)
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = text
        run.font.size = Pt(size)
        if url:
            run.hyperlink.address = url
        paragraph.space_after = Pt(6)


def table(
    slide: Slide,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    box: Box,
    size: int = 12,
    weights: Sequence[float] | None = None,
) -> float:
    """A table with ``header`` and ``rows``; ``weights`` share out the width. Returns its height in inches."""
    row_h = 0.4
    shape = slide.shapes.add_table(
        len(rows) + 1,
        len(header),
        Inches(box.left),
        Inches(box.top),
        Inches(box.width),
        Inches(row_h * (len(rows) + 1)),
    )
    if weights:
        for column, weight in zip(shape.table.columns, weights, strict=True):
            column.width = Emu(int(Inches(box.width) * weight / sum(weights)))
    for r, values in enumerate([list(header), *map(list, rows)]):
        for c, value in enumerate(values):
            cell = shape.table.cell(r, c)
            cell.text = str(value)
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(size)
    return row_h * (len(rows) + 1)


def notes(slide: Slide, lines: Sequence[str]) -> None:
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)
