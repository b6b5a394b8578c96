"""What every sync reports back, whichever source it read."""

from __future__ import annotations

from dataclasses import dataclass, field

from cadence.records import Batch


@dataclass
class SyncReport:
    source: str
    scopes: list[str] = field(default_factory=list)
    items: int = 0
    events: int = 0
    sprints: int = 0
    problems: int = 0
    requests: int = 0
    errors: list[str] = field(default_factory=list)  # one line each, no secrets
    sprint_keys: set[str] = field(default_factory=set, repr=False)

    def add(self, batch: Batch) -> None:
        """Count a saved batch; sprints are counted once however many pages name them."""
        self.items += len(batch.items)
        self.events += len(batch.events)
        self.problems += len(batch.problems)
        self.sprint_keys.update(s["sprint_key"] for s in batch.sprints)
        self.sprints = len(self.sprint_keys)

    @property
    def partial(self) -> bool:
        """True when some scope failed after others were saved: the CLI exits 2."""
        return bool(self.errors)

    def summary(self) -> str:
        text = (
            f"{self.source}: {self.items} items, {self.events} events, {self.sprints} sprints, "
            f"{self.problems} data-quality problems, {self.requests} requests"
        )
        return text + (f"; {len(self.errors)} failed: {self.errors[0]}" if self.errors else "")
