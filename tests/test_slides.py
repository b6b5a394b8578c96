"""Retro slides: built for real, then opened with python-pptx."""

from __future__ import annotations

import io
import re
import sys
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pytest
from pptx import Presentation

import cadence
from cadence.errors import CadenceError
from cadence.report.deck import sprint_deck
from cadence.report.slides import build_slides, write_pptx

sys.path.insert(0, str(Path(__file__).parent))
from test_report import EVIL, sample_data  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
DEMO_AS_OF = datetime(2026, 11, 21, tzinfo=timezone.utc)
PICTURE = 13
EMU = 914400  # per inch


def _deck(tmp_path: Path, team: str | None = "A", sprint: str = "latest", show_people: bool = False) -> Presentation:
    data = sample_data()
    out = write_pptx(data, sprint_deck(data, team, sprint), tmp_path / "deck.pptx", show_people=show_people)
    return Presentation(str(out))


def _texts(slide) -> str:
    parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
    parts += [cell.text for shape in slide.shapes if shape.has_table for row in shape.table.rows for cell in row.cells]
    return "\n".join(parts)


def _notes(slide) -> str:
    return slide.notes_slide.notes_text_frame.text


TITLES = [
    "Retro: A: A 14",
    "Scorecard against the previous 3 sprints",
    "Feedback latency",
    "Timebox overruns: 0 of 1 timeboxes",
    "Overrunning items, largest first",
    "Learnings: 0 this sprint (0.00 per week)",
    "Cadence comparison (1 of 3)",
    "Cadence comparison (2 of 3)",
    "Cadence comparison (3 of 3)",
    "What if: our own history on other sprint grids",
    "The verdict",
]


def test_latest_sprint_deck_has_the_same_titled_slides_with_charts(tmp_path: Path) -> None:
    """Team A's latest closed sprint is A 14, which has no overruns and no learnings: the same slides anyway."""
    slides = list(_deck(tmp_path).slides)
    assert [s.shapes.title.text for s in slides] == TITLES
    pictures = [sum(shape.shape_type == PICTURE for shape in s.shapes) for s in slides]
    assert pictures == [0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0]  # the What if slide is a table
    assert all(_notes(s) for s in slides)


def test_scorecard_notes_give_the_numbers(tmp_path: Path) -> None:
    """A 14 committed 3; A 11-13 committed 6, 5, 4 (mean 5); say/do 75% against (50+60+100)/3 = 70%."""
    notes = _notes(list(_deck(tmp_path).slides)[1])
    assert "Committed: 3 this sprint; previous mean 5." in notes
    assert "Say/do: 75% this sprint; previous mean 70%." in notes


def test_the_scorecard_uses_the_reports_trend_window(tmp_path: Path) -> None:
    """[report] trend_window = 2: A 12 and A 13 only; committed 5 and 4 (mean 4.5 shown as 4 or 5)."""
    import dataclasses

    from cadence.config import Config

    data = dataclasses.replace(sample_data(), config=Config(trend_window=2))
    out = write_pptx(data, sprint_deck(data, "A", "latest"), tmp_path / "deck.pptx")
    scorecard = list(Presentation(str(out)).slides)[1]
    assert scorecard.shapes.title.text == "Scorecard against the previous 2 sprints"
    assert "Say/do: 75% this sprint; previous mean 80%." in _notes(scorecard)  # (60% + 100%) / 2


def test_empty_sprint_still_gets_sensible_slides(tmp_path: Path) -> None:
    slides = list(_deck(tmp_path).slides)
    assert "No timebox ran over in this sprint." in _texts(slides[3])
    assert "No timebox ran over in this sprint." in _texts(slides[4])
    assert "No learning was recorded in this sprint." in _texts(slides[5])


def test_sprint_with_overruns_and_learnings_lists_them(tmp_path: Path) -> None:
    slides = list(_deck(tmp_path, sprint="12").slides)
    assert slides[0].shapes.title.text == "Retro: A: A 12"
    assert slides[3].shapes.title.text == "Timebox overruns: 1 of 2 timeboxes"
    overruns = _texts(slides[4])
    assert "A-7" in overruns and EVIL in overruns and "timebox label" in overruns and "100%" in overruns
    learning = slides[5]
    assert "caching halves latency" in _texts(learning)
    links = [
        (r.text, r.hyperlink.address)
        for sh in learning.shapes
        if sh.has_text_frame
        for p in sh.text_frame.paragraphs
        for r in p.runs
        if r.hyperlink.address
    ]
    # Only the key is a link: LibreOffice draws a link as one field that breaks anywhere ("minu / tes").
    assert links == [("A-7", "https://tracker.demo.invalid/browse/A-7")]
    # The team's own switch (say/do, on the second comparison slide) beside the comparison across teams.
    assert "A's own switch 2w → 1w, Say/do (share of committed done): 0.60 → 0.90" in _texts(slides[7])


def _box(shape) -> tuple[float, float, float, float]:
    return (shape.left / EMU, shape.top / EMU, (shape.left + shape.width) / EMU, (shape.top + shape.height) / EMU)


def _overlap(a, b) -> bool:
    return a[0] < b[2] - 1e-6 and b[0] < a[2] - 1e-6 and a[1] < b[3] - 1e-6 and b[1] < a[3] - 1e-6


def _check_layout(deck: Presentation) -> None:
    """Every shape inside the slide, no two overlapping, text at 12 pt or more, charts at 12 pt or more."""
    from PIL import Image

    from cadence.report.pptx_parts import chart_pt

    width, height = deck.slide_width / EMU, deck.slide_height / EMU
    for number, slide in enumerate(deck.slides, start=1):
        boxes = [(shape.name, _box(shape)) for shape in slide.shapes]
        for name, (left, top, right, bottom) in boxes:
            assert left >= 0 and top >= 0 and right <= width + 1e-6 and bottom <= height + 1e-6, (number, name)
        for i, (name_a, a) in enumerate(boxes):
            for name_b, b in boxes[i + 1 :]:
                assert not _overlap(a, b), (number, name_a, name_b)
        for shape in slide.shapes:
            frames = [shape.text_frame] if shape.has_text_frame else []
            frames += [c.text_frame for row in shape.table.rows for c in row.cells] if shape.has_table else []
            for frame in frames:
                assert frame.word_wrap is not False, (number, shape.name)
                sizes = [r.font.size.pt for p in frame.paragraphs for r in p.runs if r.font.size is not None]
                assert all(size >= 12 for size in sizes), (number, shape.name, sizes)
            if shape.shape_type == PICTURE:
                with Image.open(io.BytesIO(shape.image.blob)) as image:
                    pixels = image.size[0]
                assert chart_pt(shape.width / EMU / pixels) >= 12, (number, shape.name)


def test_nothing_overlaps_nothing_is_cut_and_type_is_12_pt_or_more(tmp_path: Path) -> None:
    for sprint in ("latest", "12"):
        _check_layout(_deck(tmp_path / sprint, sprint=sprint))


def test_many_learnings_are_cut_at_the_box_with_a_count(tmp_path: Path) -> None:
    """30 learnings of 150 characters cannot fit one slide: those that fit, then "...and N more"."""
    import dataclasses

    import pandas as pd

    data = sample_data()
    one = data.learnings.iloc[[0]]
    many = pd.concat([one.assign(key=f"A-{100 + i}", text="word " * 30) for i in range(30)], ignore_index=True)
    data = dataclasses.replace(data, learnings=many)
    deck = Presentation(str(write_pptx(data, sprint_deck(data, "A", "12"), tmp_path / "deck.pptx")))
    text = _texts(list(deck.slides)[5])
    shown = text.count("A-1")
    assert 3 <= shown < 30 and f"…and {30 - shown} more (see the report)." in text
    _check_layout(deck)


def test_the_verdict_is_the_last_slide(tmp_path: Path) -> None:
    verdict = list(_deck(tmp_path).slides)[-1]
    text = _texts(verdict)
    for question in ("Fast feedback?", "Honest timeboxes?", "Would another cadence do better?"):
        assert question in text
    assert "clear" in text and "can't tell" in text and "Trade-off: 1w gives 6 h latency" in text


def test_people_hidden_unless_asked(tmp_path: Path) -> None:
    hidden = "".join(_texts(s) + _notes(s) for s in _deck(tmp_path / "h", sprint="12").slides)
    assert "Alice Secret" not in hidden and "alice@example.com" not in hidden and "[person]" in hidden
    shown = "".join(_texts(s) + _notes(s) for s in _deck(tmp_path / "s", sprint="12", show_people=True).slides)
    assert "Alice Secret" in shown


def test_unknown_team_or_sprint_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CadenceError, match="no team 'Z'.*teams: A, B"):
        _deck(tmp_path, team="Z")
    with pytest.raises(CadenceError, match="no sprint '99'"):
        _deck(tmp_path, sprint="99")


@pytest.fixture(scope="module")
def demo_wh(tmp_path_factory: pytest.TempPathFactory) -> cadence.Warehouse:
    from cadence.importer import import_path

    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    import_path(db, DEMO)
    return cadence.open(db)


def test_demo_deck_is_for_the_latest_closed_sprint(demo_wh: cadence.Warehouse, tmp_path: Path) -> None:
    team = "Vision (synthetic)"
    out = build_slides(demo_wh, tmp_path, team=team, as_of=DEMO_AS_OF)
    with duckdb.connect(str(demo_wh.path), read_only=True) as con:
        name = con.execute(
            "SELECT name FROM sprints WHERE team = ? AND state = 'closed' AND completed_at <= ? "
            "ORDER BY completed_at DESC LIMIT 1",
            [team, DEMO_AS_OF],
        ).fetchone()[0]
    slides = list(Presentation(str(out)).slides)
    assert len(slides) == len(TITLES) and slides[0].shapes.title.text == f"Retro: {team}: {name}"
    assert sum(sh.shape_type == PICTURE for s in slides for sh in s.shapes) == 7
    for png in (out.parent / f"{out.stem}_assets").glob("*.png"):
        assert png.read_bytes()[:4] == b"\x89PNG"


def test_every_demo_deck_has_the_same_slides_laid_out_to_fit(demo_wh: cadence.Warehouse, tmp_path: Path) -> None:
    """One deck used to lack the overrun chart; now each team's deck has the same slides, and all fit."""
    kinds = set()
    for team in demo_wh.teams()["team"]:
        deck = Presentation(str(build_slides(demo_wh, tmp_path, team=team, as_of=DEMO_AS_OF)))
        titles = [s.shapes.title.text for s in deck.slides]
        kinds.add(tuple(re.sub(r"[0-9.]+", "N", t.split(":")[0]) for t in titles))
        pictures = tuple(sum(sh.shape_type == PICTURE for sh in s.shapes) for s in deck.slides)
        assert pictures == (0, 1, 1, 1, 0, 1, 1, 1, 1, 0, 0), team
        _check_layout(deck)
    assert len(kinds) == 1


def test_revealjs_without_quarto_is_a_clear_error(
    demo_wh: cadence.Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CadenceError, match="reveal.js slides need Quarto.*--format pptx"):
        build_slides(demo_wh, tmp_path, fmt="revealjs")


def test_revealjs_with_quarto_renders_the_same_slides(
    demo_wh: cadence.Warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A quarto on PATH gets a .qmd holding the deck's slides, pictures and notes; this one records its arguments."""
    import stat

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "quarto"
    fake.write_text('#!/bin/sh\necho "$@" > "$PWD/quarto_args"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    out = build_slides(demo_wh, tmp_path / "out", team="Vision (synthetic)", fmt="revealjs", as_of=DEMO_AS_OF)
    qmd = out.with_suffix(".qmd")
    assert (tmp_path / "out" / "quarto_args").read_text().split() == ["render", qmd.name, "--to", "revealjs"]
    text = qmd.read_text()
    assert text.count("\n## ") == len(TITLES) and text.count("::: notes") == len(TITLES)
    images = re.findall(r"!\[\]\(([^)]+)\)", text)
    assert len(images) >= 5 and all((qmd.parent / image).is_file() for image in images)


def test_hostile_text_on_slides_is_neutralised_and_clipped(tmp_path: Path) -> None:
    """Team B's sprint 21 holds a learning with a right-to-left override and a 20,000-character word."""
    import zipfile

    data = sample_data()
    out = write_pptx(data, sprint_deck(data, "B", "21"), tmp_path / "deck.pptx")
    with zipfile.ZipFile(out) as deck:
        xml = "".join(deck.read(n).decode("utf-8") for n in deck.namelist() if n.endswith(".xml"))
    assert "\u202e" not in xml and "\u202c" not in xml
    runs = re.findall(r"<a:t>([^<]*)</a:t>", xml)
    assert max(len(r) for r in runs) < 400  # the long word is clipped, never a 20,000-character run
    learning = _texts(list(Presentation(str(out)).slides)[5])
    assert "reviewed by ecilA" in learning and "…" in learning
    _check_layout(Presentation(str(out)))
