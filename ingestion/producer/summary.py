"""The count of a run: sent per topic, rejected per reason, failed per delivery error.

Every event is counted once, as sent or rejected when it is queued, so that
counts in = sent + rejected; a delivery that fails later moves from sent to failed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.console import Console
from rich.table import Table


@dataclass
class SendSummary:
    sent: Counter[str] = field(default_factory=Counter)  # topic -> events accepted
    rejected: Counter[str] = field(default_factory=Counter)  # reason code -> events
    rejected_by_topic: Counter[str] = field(default_factory=Counter)
    failed: Counter[str] = field(default_factory=Counter)  # delivery error -> events

    @property
    def total_in(self) -> int:
        return sum(self.sent.values()) + sum(self.rejected.values())

    def merge(self, other: SendSummary) -> None:
        self.sent.update(other.sent)
        self.rejected.update(other.rejected)
        self.rejected_by_topic.update(other.rejected_by_topic)
        self.failed.update(other.failed)

    def record(self, intended: str, reason: str | None) -> None:
        """Count one event meant for ``intended``: sent, or rejected for ``reason``."""
        if reason is None:
            self.sent[intended] += 1
        else:
            self.rejected[reason] += 1
            self.rejected_by_topic[intended] += 1

    def render(
        self,
        console: Console | None = None,
        title: str = "ingest summary",
        sent_label: str = "sent",
    ) -> None:
        console = console or Console(stderr=True)
        table = Table(title=title)
        table.add_column("topic")
        table.add_column(sent_label, justify="right")
        table.add_column("rejected → DLQ", justify="right")
        for topic in sorted(set(self.sent) | set(self.rejected_by_topic)):
            table.add_row(topic, f"{self.sent[topic]:,}", f"{self.rejected_by_topic[topic]:,}")
        table.add_row(
            "[bold]total",
            f"[bold]{sum(self.sent.values()):,}",
            f"[bold]{sum(self.rejected.values()):,}",
        )
        console.print(table)
        if self.rejected:
            reasons = Table(title="rejected per reason")
            reasons.add_column("reason")
            reasons.add_column("events", justify="right")
            for reason, n in self.rejected.most_common():
                reasons.add_row(reason, f"{n:,}")
            console.print(reasons)
        if self.failed:
            failed = Table(title="[red]delivery failures (not in Kafka)")
            failed.add_column("error")
            failed.add_column("events", justify="right")
            for error, n in self.failed.most_common():
                failed.add_row(error, f"{n:,}")
            console.print(failed)
