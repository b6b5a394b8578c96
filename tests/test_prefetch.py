"""prefetched: the pages a sync saves. Expected values are worked out by hand from the pages given."""

import threading

import pytest

from cadence.sync.common import prefetched


def test_small_pages_that_arrive_together_are_saved_together():
    pages = iter([list(range(50))] * 5)  # Jira Cloud's 50 issues a page with changelogs
    sizes = [len(p) for p in prefetched(pages, wait_s=5, at_least=100)]
    assert sizes == [100, 100, 50]


def test_without_a_threshold_every_page_is_its_own():
    sizes = [len(p) for p in prefetched(iter([[1, 2], [3], [4, 5, 6]]), wait_s=5)]
    assert sizes == [2, 1, 3]


def test_what_is_held_is_handed_over_before_the_fetch_error():
    def pages():
        yield ["a"] * 50
        raise ConnectionError("page 2 failed")

    got = []
    with pytest.raises(ConnectionError, match="page 2 failed"):
        for page in prefetched(pages(), wait_s=5, at_least=100):
            got.append(len(page))
    assert got == [50]


def test_a_held_page_is_handed_over_when_the_next_is_late():
    gate, waited = threading.Event(), []

    def pages():
        yield ["a"] * 50
        gate.wait(10)  # the second page is late
        yield ["b"] * 50

    def on_wait():  # the sync lets go of the file here; only then does the slow page come
        waited.append(len(seen))
        gate.set()

    seen = []
    for page in prefetched(pages(), on_wait=on_wait, wait_s=0.2, at_least=100):
        seen.append((len(page), page[0]))
    # the first page was not kept waiting for the slow one; the sync let go of the file at once
    assert seen == [(50, "a"), (50, "b")]
    assert waited == [1]
