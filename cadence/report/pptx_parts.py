"""Small python-pptx helpers that lay slides out so that nothing overlaps and nothing is cut.

python-pptx does not measure text, and a renderer (PowerPoint, LibreOffice) grows a table row or
lets text run out of its box when it does not fit. So text is measured here, conservatively: an
average character is taken as 0.55 em wide (Helvetica and Arial average about 0.5 em), each line
as 1.25 em high. Bullets and table rows are placed only while they fit their box; the rest is
counted ("...and 3 more"). Text is never smaller than ``MIN_PT``, and charts are scaled so that
their smallest type (``SLIDE_FONT_PX``) is at least ``MIN_PT`` as well.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from PIL import Image
from pptx import Presentation
from pptx.presentation import Presentation as Deck
from pptx.slide import Slide
from pptx.util import Emu, Inches, Pt

from cadence.charts.theme import SLIDE_FONT_PX

log = logging.getLogger(__name__)

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)  # 16:9
PX_PER_IN = 96  # a chart drawn for a box of w inches is w * 96 CSS pixels wide: 1 px = 0.75 pt
TITLE_ONLY = 5
MIN_PT = 12
PNG_SCALE = 2  # chart images are rendered at twice their CSS pixel size
CHAR_EM = 0.55
LINE_EM = 1.25
CELL_MARGIN_IN = 0.1  # a table cell's top and bottom margins together (python-pptx default 0.05 + 0.05)
BOX_MARGIN_IN = 0.1  # a text box's top and bottom insets together
TITLE_BOTTOM = 1.3  # inches: content starts below the title


@dataclass(frozen=True)
class Box:
    left: float
    top: float
    width: float
    height: float  # inches

    @property
    def bottom(self) -> float:
        return self.top + self.height

    def below(self, used: float, gap: float = 0.15) -> "Box":
        """The part of this box under the first ``used`` inches."""
        return Box(self.left, self.top + used + gap, self.width, max(0.0, self.height - used - gap))


def new_deck() -> Deck:
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    return deck


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters at a word boundary, with an ellipsis."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit - 1  # one very long word: cut it
    return text[:cut].rstrip() + "…"


def lines_needed(text: str, width_in: float, size_pt: float) -> int:
    """How many lines ``text`` takes in a column ``width_in`` wide at ``size_pt`` (wrapping at words; a word
    longer than a line is broken)."""
    per_line = max(1, int((width_in * 72) / (size_pt * CHAR_EM)))
    total = 0
    for paragraph in str(text).split("\n"):
        count, line = 1, 0
        for word in paragraph.split():
            w = len(word)
            if line and line + 1 + w <= per_line:
                line += 1 + w
            elif not line and w <= per_line:
                line = w
            else:
                count += 1 if line else 0
                full, rest = divmod(w, per_line)
                count, line = (count + full - 1, per_line) if rest == 0 else (count + full, rest)
        total += count
    return max(1, total)


def text_height(text: str, width_in: float, size_pt: float) -> float:
    """Inches that ``text`` needs in a column ``width_in`` wide."""
    return lines_needed(text, width_in, size_pt) * size_pt * LINE_EM / 72


def titled(deck: Deck, title: str, layout: int = TITLE_ONLY) -> Slide:
    slide = deck.slides.add_slide(deck.slide_layouts[layout])
    shape = slide.shapes.title
    shape.left, shape.top, shape.width, shape.height = Inches(0.5), Inches(0.3), WIDTH - Inches(1.0), Inches(0.9)
    shape.text = clip(title, 64)  # one line at 28 pt across the slide
    shape.text_frame.word_wrap = True
    for paragraph in shape.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(28)
    return slide


def picture(slide: Slide, png: Path, box: Box) -> Box:
    """Place ``png`` inside ``box``, as large as fits, keeping its aspect ratio; return the box it took.

    A chart whose smallest type would be under ``MIN_PT`` there is still placed, with a warning.
    """
    with Image.open(png) as image:
        w, h = image.size
    scale = min(box.width / w, box.height / h)
    if chart_pt(scale) < MIN_PT:
        log.warning("%s is drawn with %.1f pt type on its slide", png.name, chart_pt(scale))
    width, height = w * scale, h * scale
    slide.shapes.add_picture(str(png), Inches(box.left), Inches(box.top), Inches(width), Inches(height))
    return Box(box.left, box.top, width, height)


def chart_pt(inches_per_image_px: float) -> float:
    """The size in points of a chart's smallest type when one image pixel is drawn this many inches wide."""
    return SLIDE_FONT_PX * PNG_SCALE * inches_per_image_px * 72


def _textbox(slide: Slide, box: Box):
    frame = slide.shapes.add_textbox(Inches(box.left), Inches(box.top), Inches(box.width), Inches(box.height)).text_frame
    frame.word_wrap = True
    return frame


Line = str | tuple[str, str | None, str]  # text, or (linked text, url, rest of the line)


def _line_text(line: Line) -> str:
    return line if isinstance(line, str) else line[0] + line[2]


def bullets(slide: Slide, lines: Sequence[Line], box: Box, size: int = 16,
            more: str = "…and {n} more (see the report).") -> tuple[float, int]:
    """One paragraph per line while they fit ``box``; ``(key, url, rest)`` links only the key, so the text
    still wraps at words (LibreOffice draws a link as one field that wraps anywhere). Returns (height, shown)."""
    size = max(size, MIN_PT)
    space = 6 / 72
    usable = box.height - BOX_MARGIN_IN
    heights = [text_height(_line_text(line), box.width - 0.2, size) + space for line in lines]
    shown, used = 0, 0.0
    footer = text_height(more.format(n=999), box.width - 0.2, size) + space
    for i, h in enumerate(heights):
        rest = footer if i < len(lines) - 1 else 0.0
        if used + h + rest > usable:
            break
        shown, used = shown + 1, used + h
    chosen: list[Line] = list(lines[:shown])
    if shown < len(lines):
        chosen.append(more.format(n=len(lines) - shown))
        used += footer
    frame = _textbox(slide, Box(box.left, box.top, box.width, min(box.height, used + BOX_MARGIN_IN)))
    for i, line in enumerate(chosen):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        parts = [(line, None)] if isinstance(line, str) else [(line[0], line[1]), (line[2], None)]
        for text, url in parts:
            if not text:
                continue
            run = paragraph.add_run()
            run.text = text
            run.font.size = Pt(size)
            if url:
                run.hyperlink.address = url
        paragraph.space_after = Pt(6)
    return used + BOX_MARGIN_IN, shown


def _row_heights(header: Sequence[str], rows: Sequence[Sequence[str]], box: Box, size: float,
                 weights: Sequence[float]) -> list[float]:
    widths = [box.width * w / sum(weights) for w in weights]
    return [max(text_height(str(v), w - 0.2, size) for v, w in zip(values, widths)) + CELL_MARGIN_IN + 0.04
            for values in [header, *rows]]


def fits(header: Sequence[str], rows: Sequence[Sequence[str]], box: Box, size: float,
         weights: Sequence[float]) -> bool:
    """Whether a table of all ``rows`` at ``size`` fits ``box``."""
    return sum(_row_heights(header, rows, box, size, weights)) <= box.height


def table(slide: Slide, header: Sequence[str], rows: Sequence[Sequence[str]], box: Box, size: int = 12,
          weights: Sequence[float] | None = None) -> tuple[float, int]:
    """A table of as many ``rows`` as fit ``box``; each row as tall as its wrapped text. Returns (height, rows)."""
    size = max(size, MIN_PT)
    weights = list(weights) if weights else [1.0] * len(header)
    widths = [box.width * w / sum(weights) for w in weights]
    all_heights = _row_heights(header, rows, box, size, weights)
    heights = [all_heights[0]]
    for height in all_heights[1:]:
        if sum(heights) + height > box.height:
            break
        heights.append(height)
    shown = len(heights) - 1
    shape = slide.shapes.add_table(len(heights), len(header), Inches(box.left), Inches(box.top), Inches(box.width),
                                   Inches(sum(heights)))
    for column, width in zip(shape.table.columns, widths, strict=True):
        column.width = Emu(int(Inches(width)))
    for r, (values, height) in enumerate(zip([list(header), *map(list, rows[:shown])], heights)):
        shape.table.rows[r].height = Emu(int(Inches(height)))
        for c, value in enumerate(values):
            cell = shape.table.cell(r, c)
            cell.text = str(value)
            cell.text_frame.word_wrap = True
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(size)
    return sum(heights), shown


def notes(slide: Slide, lines: Sequence[str]) -> None:
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)
