"""Storing the demo county's visits: the recent weeks, which the pages show,
and every visit that finds something, through `record_visit`; the older ones
through its bulk variant (`tanfang.visits.bulk.VisitBatch`, with the same
checks). Each is then dated when its visitor sent it from the phone, and the
periods a few elders spent away are excused by the village (`excuse_task`).
"""

import random
import struct
import zlib
from base64 import b64encode
from collections.abc import Sequence
from dataclasses import fields
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from tanfang.accounts.models import User
from tanfang.care.models import Hazard, Need
from tanfang.demo.actors import Accounts, actor_for, local
from tanfang.demo.care import CareHistory
from tanfang.demo.plans import ElderPlan, PlannedVisit
from tanfang.registry import crypto
from tanfang.registry.models import Elder
from tanfang.visits.actions import excuse_task, record_visit
from tanfang.visits.bulk import VisitBatch, VisitRow, date_excused, date_recorded
from tanfang.visits.models import Visit, Visitor, VisitTask

# Visits of the last days are stored through `record_visit`, the older in bulk.
RECENT_DAYS = 14


def _signature(key: str) -> str:
    """A small drawn stroke as the phone sends a signature (a PNG data URL),
    the same for the same person."""
    rng = random.Random(f"signature:{key}")  # noqa: S311 - demo data
    width, height = 96, 32
    ink: set[tuple[int, int]] = set()
    x, y = 6, 16 + rng.randrange(-4, 5)
    while x < width - 6:
        step_y = rng.choice([-3, -2, -1, 0, 1, 2, 3])
        for _ in range(rng.randrange(2, 5)):
            y = max(3, min(height - 4, y + (1 if step_y > 0 else -1 if step_y < 0 else 0)))
            ink.update({(x, y), (x, y + 1), (x + 1, y)})
            x += 1
    rows = b""
    for row in range(height):
        bits = 0
        line = bytearray()
        for column in range(width):
            # One bit a pixel, 1 white, 0 ink.
            bits = (bits << 1) | (0 if (column, row) in ink else 1)
            if column % 8 == 7:
                line.append(bits)
                bits = 0
        rows += b"\x00" + bytes(line)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + b64encode(png).decode()


class _Context:
    """What storing a visit reads, read once."""

    def __init__(self, plans: Sequence[ElderPlan], accounts: Accounts, seed: int) -> None:
        self.accounts = accounts
        self.elders = Elder.objects.in_bulk([p.elder_id for p in plans])
        ids = {pk for p in plans for v in p.visits for pk in v.visitor_ids}
        self.visitors = Visitor.objects.in_bulk(ids)
        self.demo_visitor = (
            Visitor.objects.filter(user=accounts.visitor).values_list("pk", flat=True).first()
        )
        self.seed = seed
        self._visitor_signatures: dict[int, str] = {}
        self._elder_signatures: dict[int, str] = {}

    def actor(self, planned: PlannedVisit) -> User:
        """The visitor records their own visits; a liaison or officer records
        for those without a login (record_visit: 代为录入)."""
        if self.demo_visitor in planned.visitor_ids:
            return self.accounts.visitor
        return actor_for(self.accounts, self.elders[planned.elder_id].village_id)

    def visitors_of(self, planned: PlannedVisit) -> list[Visitor]:
        return [self.visitors[pk] for pk in planned.visitor_ids]

    def signatures(self, planned: PlannedVisit) -> tuple[str, str]:
        """Each person signs alike every time."""
        if planned.refused:
            return "", ""
        visitor = self.visitors[planned.visitor_ids[0]]
        elder = self.elders[planned.elder_id]
        if visitor.pk not in self._visitor_signatures:
            key = f"{self.seed}:{visitor.township_id}:{visitor.name}"
            self._visitor_signatures[visitor.pk] = _signature(key)
        if elder.pk not in self._elder_signatures:
            key = f"{self.seed}:{crypto.decrypt(elder.id_number_token)}"
            self._elder_signatures[elder.pk] = _signature(key)
        return self._visitor_signatures[visitor.pk], self._elder_signatures[elder.pk]

    def row(self, planned: PlannedVisit) -> VisitRow:
        """The visit as `VisitBatch` takes it."""
        visitor_signature, elder_signature = self.signatures(planned)
        return VisitRow(
            acting_user=self.actor(planned),
            uuid=planned.uuid,
            elder=self.elders[planned.elder_id],
            mode=planned.mode,
            visited_at=planned.visited_at,
            visitors=self.visitors_of(planned),
            answers=planned.answers,
            refused=planned.refused,
            needs_found=planned.needs_found,
            services_given=planned.services_given,
            visitor_signature=visitor_signature,
            elder_signature=elder_signature,
            started_at=planned.started_at,
            ended_at=planned.ended_at,
            latitude=planned.latitude,
            longitude=planned.longitude,
            location_accuracy=planned.location_accuracy,
            recorded_at=planned.recorded_at,
        )

    def record(self, planned: PlannedVisit) -> Visit:
        """The visit through `record_visit` itself, with the same arguments: sent
        when it was (`recorded_at`), so a visit of a month since locked is not late."""
        row = self.row(planned)
        return record_visit(**{f.name: getattr(row, f.name) for f in fields(row)}).visit


def store_visits(
    plans: Sequence[ElderPlan],
    accounts: Accounts,
    seed: int,
    today: date,
    care: CareHistory,
) -> tuple[int, int, int]:
    """Store the planned visits, elder by elder and each elder's in order, so
    that the sequence numbers (第 N 次) follow the dates; after each visit that
    `record_visit` stores, `care` handles what it found. Returns the visits,
    hazards and needs made."""
    context = _Context(plans, accounts, seed)
    cutoff = today - timedelta(days=RECENT_DAYS)
    batch = VisitBatch(context.elders)
    recent: list[PlannedVisit] = []
    through_record: list[tuple[int, datetime]] = []
    for plan in plans:
        for planned in plan.visits:
            if timezone.localdate(planned.visited_at) >= cutoff:
                recent.append(planned)
            elif planned.finds:
                # Hazards and needs are made by record_visit alone, whatever the visit's age.
                batch.flush()
                visit = context.record(planned)
                batch.recorded(visit)
                batch.owed(care.after_record(visit, planned.recorded_at))
                through_record.append((visit.pk, planned.recorded_at))
            else:
                batch.add(context.row(planned))
    batch.flush()
    for planned in sorted(recent, key=lambda v: (v.visited_at, v.elder_id)):
        visit = context.record(planned)
        care.after_record(visit, planned.recorded_at)
        through_record.append((visit.pk, planned.recorded_at))
    date_recorded(through_record)
    visits = Visit.objects.filter(elder__in=context.elders)
    return (
        visits.count(),
        Hazard.objects.filter(visit__in=visits).count(),
        Need.objects.filter(visit__in=visits).count(),
    )


def excuse_absences(plans: Sequence[ElderPlan], accounts: Accounts, now: datetime) -> int:
    """The periods a few elders spent in hospital or away, excused by the
    village (`excuse_task`), dated the last day of the period."""
    wanted = {pk: (reason, note) for plan in plans for pk, reason, note in plan.excuses}
    excused: dict[VisitTask, datetime] = {}
    for task in VisitTask.objects.filter(pk__in=wanted).select_related("elder").order_by("pk"):
        if not task.is_open():
            continue
        reason, note = wanted[task.pk]
        done = excuse_task(
            acting_user=actor_for(accounts, task.elder.village_id),
            task=task,
            reason=reason,
            note=note,
        )
        excused[done] = min(local(done.window_end, time(17, 0)), now)
    date_excused(excused)
    return len(excused)
