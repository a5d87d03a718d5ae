"""What a batch step answers: the rows it did, and why it refused each of the others (by the row's index,
in Chinese), so a ledger import — or the demo's history — reports every refusal and writes nothing of a
refused row. The batch forms of the flow's steps live beside their one-at-a-time siblings and apply the
same rules (app/services/booking/batch.py, usage.register_batch, settlement.*_batch, …)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Batch:
    done: dict = field(default_factory=dict)  # {entry index: id of what it wrote}
    refused: dict = field(default_factory=dict)  # {entry index: message}

    def refuse(self, index, message):
        self.refused[index] = str(message)
