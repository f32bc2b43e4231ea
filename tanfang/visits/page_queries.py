"""Reads for the phone pages: the visitor's home, the village board, one visit.

Every function starts from `Elder.objects.visible_to(user)` or
`Visit.objects.visible_to(user)` and narrows it; none widens it. Each list is
read in a fixed number of queries whatever the number of rows (the pages pin
their query counts in their tests).
"""

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from tanfang.accounts.models import User
from tanfang.months import zone
from tanfang.policy import engine
from tanfang.regions.models import Level, Region
from tanfang.registry import crypto
from tanfang.registry.models import Elder, Status
from tanfang.visits import checklist, counting, route
from tanfang.visits.checklist_schema import Kind
from tanfang.visits.findings import NeedType
from tanfang.visits.models import (
    Assignment,
    TaskKind,
    TaskState,
    Visit,
    VisitMode,
    Visitor,
    VisitTask,
)

# 即将开始: tasks whose window opens within this many days.
UPCOMING_DAYS = 14


def visitor_of(user: User) -> Visitor | None:
    """The roster record of the signed-in user, if they are on a roster."""
    return Visitor.objects.filter(user=user).select_related("township").first()


def _open_assignments() -> QuerySet[Assignment]:
    return Assignment.objects.filter(ended_at__isnull=True)


def _with_last_visit(queryset: QuerySet[Any], elder_ref: str) -> QuerySet[Any]:
    """Each row with the time and mode of its elder's newest visit (`elder_ref`:
    the elder's key on the row, "elder" on a task, "pk" on an elder)."""
    newest = Visit.objects.filter(elder=OuterRef(elder_ref)).order_by("-visited_at", "-pk")
    annotated: QuerySet[Any] = queryset.annotate(
        last_visit_at=Subquery(newest.values("visited_at")[:1]),
        last_visit_mode=Subquery(newest.values("mode")[:1]),
    )
    return annotated


def mode_label(mode: str | None) -> str:
    if not mode:
        return ""
    return str(VisitMode(mode).label) if mode in VisitMode.values else mode


def tier_words(elder: Elder) -> tuple[str, str]:
    """The elder's tier and why, as the file shows them: an officer's override
    with its written reason wins over the computed tier and its reasons."""
    if elder.tier_override:
        labels: dict[str, str] = {}
        # Unreadable rules: the stored key is shown (the rules page says why).
        with contextlib.suppress(engine.ConfigError):
            labels = dict(engine.load(elder.tier_profile).tier_keys())
        return labels.get(elder.tier_override, elder.tier_override), elder.tier_override_reason
    return elder.tier_label, "；".join(str(r) for r in elder.tier_reasons or ())


def masked_phone(elder: Elder) -> str:
    return crypto.mask_phone(crypto.decrypt(elder.phone_token)) if elder.phone_token else ""


# --- The visitor's home: one card per elder ------------------------------------------

# The page's sections, in its order (issue 16 item 5: today's first, then the
# late ones, then those coming): (id, heading).
SECTIONS = (
    ("due-today", "今天到期"),
    ("overdue", "已逾期"),
    ("this-period", "本期待访"),
    ("upcoming", f"即将开始（{UPCOMING_DAYS}天内）"),
    ("done", "本期已完成"),
)
# The sections the day's route runs through, in turn (tanfang.visits.route).
ROUTED = ("due-today", "overdue", "this-period")
# A word for each kind of task on the card, beside its label.
KIND_WORDS = {
    str(TaskKind.TRIGGER): "变故",
    str(TaskKind.EVENT): "特殊时段",
    str(TaskKind.FESTIVAL): "节日",
    str(TaskKind.REGULAR): "例行",
    str(TaskKind.FOLLOW_UP): "回访",
}


@dataclass(frozen=True)
class TaskLine:
    """One task on an elder's card, with its state today."""

    task: VisitTask
    state: TaskState
    due_today: bool

    @property
    def kind_word(self) -> str:
        return KIND_WORDS.get(str(self.task.kind), "")


@dataclass
class Card:
    """One elder on the visitor's home, with every task due (issue 16 item 5)."""

    elder: Elder
    # The elder's open tasks, the most urgent first (counting.urgency): those
    # due now (late ones included), or when none is, those about to open.
    tasks: list[TaskLine]
    # Tasks done in their current window, the latest first.
    done: list[VisitTask]
    phone: str  # masked; "" when the file has none
    address: str  # masked; "" when the file has none
    tier_label: str
    tier_reasons: str
    last_visit_at: datetime | None
    last_visit_mode: str
    section: str = ""
    # The median of the latest home visits' GPS fixes (route.home_position).
    position: route.Position | None = None
    # The place on the day's route (1, 2, …) and the distance from the stop before.
    stop: int | None = None
    leg: str = ""
    # What is still open about the elder (care's needs, hazards, emergencies),
    # in words; filled in by the page, which may read care.
    findings: list[str] = field(default_factory=list)

    @property
    def task(self) -> VisitTask:
        """The most urgent open task, else the one done last."""
        return self.tasks[0].task if self.tasks else self.done[0]

    def first_deadline(self) -> date:
        return min(line.task.deadline for line in self.tasks)


@dataclass(frozen=True)
class Home:
    sections: dict[str, list[Card]]
    # Where the route starts, and in words.
    start: route.Position | None
    start_words: str
    query: str = ""

    @property
    def due_today(self) -> list[Card]:
        return self.sections["due-today"]

    @property
    def overdue(self) -> list[Card]:
        return self.sections["overdue"]

    @property
    def this_period(self) -> list[Card]:
        return self.sections["this-period"]

    @property
    def upcoming(self) -> list[Card]:
        return self.sections["upcoming"]

    @property
    def done(self) -> list[Card]:
        return self.sections["done"]

    @property
    def cards(self) -> list[Card]:
        return [card for key, _ in SECTIONS for card in self.sections[key]]

    def groups(self) -> list[tuple[str, str, list[Card]]]:
        """(id, heading, cards) in the page's order."""
        return [(key, heading, self.sections[key]) for key, heading in SECTIONS]

    def next_due(self, after_elder_id: int | None = None) -> Card | None:
        """The next elder on the day's route, passing over the elder just visited."""
        for key in ROUTED:
            for card in self.sections[key]:
                if card.elder.pk != after_elder_id:
                    return card
        return None


# Where the route starts, in words.
START_HERE = "从您现在的位置出发"
START_LAST_VISIT = "从您今天最后一次探访的地点出发"
START_FIRST_HOME = "从排在最前的老人家出发"
START_UNKNOWN = "老人家的位置未知（尚无带定位的上门探访记录），按到期先后排列"
# The first stop's distance is from where the route starts.
LEG_FROM = {START_HERE: "您现在的位置", START_LAST_VISIT: "您上次探访的地点"}


def home(
    user: User,
    visitor: Visitor,
    today: date,
    *,
    start: route.Position | None = None,
    query: str = "",
) -> Home:
    """One card for each elder `visitor` is responsible for (open 包干), from the
    elders `user` may see, whose name holds `query`: every open task whose window
    is open or opens within UPCOMING_DAYS, and those done in the current window
    (file reviews are the liaison's, not a visit). The cards of today's, the
    late and the other open tasks are in the order of a route from `start` (the
    visitor's position), else from where the visitor last recorded a visit
    today, else from the first home. Three queries, four without `start`."""
    mine = Elder.objects.visible_to(user).filter(
        Exists(_open_assignments().filter(elder=OuterRef("pk"), visitor=visitor)),
        status=Status.ACTIVE,
    )
    if query:
        mine = mine.filter(name__contains=query)
    tasks = _with_last_visit(
        VisitTask.objects.filter(
            elder__in=mine.values("pk"),
            cancelled_at__isnull=True,
            excused_at__isnull=True,
            window_end__gte=today,
            window_start__lte=today + timedelta(days=UPCOMING_DAYS),
        )
        .exclude(kind=TaskKind.REVIEW)
        .filter(Q(done_at__isnull=True) | Q(window_start__lte=today))
        .select_related("elder", "elder__village"),
        "elder",
    ).order_by("elder_id", "pk")
    cards: dict[int, Card] = {}
    for task in tasks:
        card = cards.get(task.elder_id)
        if card is None:
            card = cards[task.elder_id] = _card(task)
        state = task.state_on(today)
        if state == TaskState.DONE:
            card.done.append(task)
        else:
            due_today = state == TaskState.DUE and task.deadline == today
            card.tasks.append(TaskLine(task, state, due_today))
    positions = _home_positions(user, list(cards))
    sections: dict[str, list[Card]] = {key: [] for key, _ in SECTIONS}
    for card in cards.values():
        card.tasks.sort(key=lambda line: counting.urgency(line.task))
        # What is due now; the next period's tasks only when nothing is.
        due = [line for line in card.tasks if line.state != TaskState.SCHEDULED]
        card.tasks = due or card.tasks
        card.done.sort(key=_done_at, reverse=True)
        card.section = _section_of(card)
        card.position = positions.get(card.elder.pk)
        sections[card.section].append(card)
    for key in ROUTED:
        sections[key].sort(key=lambda c: (c.first_deadline(), c.elder.name, c.elder.pk))
    sections["upcoming"].sort(
        key=lambda c: (min(t.task.window_start for t in c.tasks), c.elder.name, c.elder.pk)
    )
    sections["done"].sort(key=lambda c: _done_at(c.done[0]), reverse=True)
    words = START_HERE
    if start is None and any(c.position for key in ROUTED for c in sections[key]):
        start = _last_fix_today(user, today)
        words = START_LAST_VISIT if start else START_FIRST_HOME
    routed, _ = route.plan_day([sections[key] for key in ROUTED], _position_of, start)
    number = 0
    for key, stops in zip(ROUTED, routed, strict=True):
        sections[key] = [stop.item for stop in stops]
        for stop in stops:
            if stop.position is not None:
                number += 1
                stop.item.stop = number
                if stop.leg_m is not None:
                    since = "上一站" if number > 1 else LEG_FROM[words]
                    stop.item.leg = f"距{since}{route.distance_words(stop.leg_m)}"
    if not number:
        words = START_UNKNOWN if any(sections[key] for key in ROUTED) else ""
    return Home(sections=sections, start=start, start_words=words, query=query)


def _position_of(card: Card) -> route.Position | None:
    return card.position


def _section_of(card: Card) -> str:
    if any(line.due_today for line in card.tasks):
        return "due-today"
    states = {line.state for line in card.tasks}
    if TaskState.OVERDUE in states:
        return "overdue"
    if TaskState.DUE in states:
        return "this-period"
    return "upcoming" if card.tasks else "done"


def _done_at(task: VisitTask) -> datetime:
    assert task.done_at is not None  # noqa: S101 - a done task has its time
    return task.done_at


def _card(task: VisitTask) -> Card:
    elder = task.elder
    label, reasons = tier_words(elder)
    return Card(
        elder=elder,
        tasks=[],
        done=[],
        phone=masked_phone(elder),
        address=masked_address(elder),
        tier_label=label,
        tier_reasons=reasons,
        last_visit_at=task.last_visit_at,  # type: ignore[attr-defined]
        last_visit_mode=mode_label(task.last_visit_mode),  # type: ignore[attr-defined]
    )


def masked_address(elder: Elder) -> str:
    token = elder.residence_address_token
    return crypto.mask_address(crypto.decrypt(token)) if token else ""


def _home_positions(user: User, elder_ids: list[int]) -> dict[int, route.Position]:
    """Where each elder lives as their latest home visits recorded it: the
    median of the last route.FIXES fixes precise to route.MAX_ACCURACY_M (one
    query, a window over each elder's visits)."""
    if not elder_ids:
        return {}
    fixes = (
        Visit.objects.visible_to(user)
        .filter(
            Q(location_accuracy__isnull=True) | Q(location_accuracy__lte=route.MAX_ACCURACY_M),
            elder_id__in=elder_ids,
            mode=VisitMode.HOME,
            latitude__isnull=False,
            longitude__isnull=False,
        )
        .annotate(
            newest=Window(
                RowNumber(),
                partition_by=[F("elder_id")],
                order_by=[F("visited_at").desc(), F("pk").desc()],
            )
        )
        .filter(newest__lte=route.FIXES)
        .values_list("elder_id", "latitude", "longitude")
    )
    found: dict[int, list[route.Position]] = {}
    for elder_id, latitude, longitude in fixes:
        if latitude is not None and longitude is not None:  # filtered above
            found.setdefault(elder_id, []).append((float(latitude), float(longitude)))
    return {
        elder_id: spot
        for elder_id, spots in found.items()
        if (spot := route.home_position(spots)) is not None
    }


def _last_fix_today(user: User, today: date) -> route.Position | None:
    """Where `user` recorded their latest visit today, if the phone gave a fix."""
    since = datetime.combine(today, time.min, tzinfo=zone())
    fix = (
        Visit.objects.visible_to(user)
        .filter(
            recorded_by=user,
            visited_at__gte=since,
            latitude__isnull=False,
            longitude__isnull=False,
        )
        .order_by("-visited_at", "-pk")
        .values_list("latitude", "longitude")
        .first()
    )
    if fix is None or fix[0] is None or fix[1] is None:
        return None
    return float(fix[0]), float(fix[1])


def is_assigned(visitor: Visitor | None, elder: Elder) -> bool:
    if visitor is None:
        return False
    return _open_assignments().filter(elder=elder, visitor=visitor).exists()


# --- The visit form -------------------------------------------------------------------


def visitors_for_form(user: User, elder: Elder) -> QuerySet[Visitor]:
    """On-duty visitors from the rosters `user` may see who may visit `elder`:
    those responsible for the elder, and those of the elder's township who serve
    the village by name or serve the whole township. `record_visit` checks the
    same again."""
    served = Visitor.villages.through.objects.filter(visitor_id=OuterRef("pk"))
    township = elder.village_id[:9] + "000"
    return (
        Visitor.objects.visible_to(user)
        .filter(active=True)
        .filter(
            Exists(_open_assignments().filter(elder=elder, visitor=OuterRef("pk")))
            | (
                Q(township_id=township)
                & (Exists(served.filter(region_id=elder.village_id)) | ~Exists(served))
            )
        )
        .order_by("name", "pk")
    )


def open_tasks_now(elder: Elder, today: date) -> list[VisitTask]:
    """The visit tasks of `elder` whose window is open today, due first."""
    return list(
        VisitTask.objects.filter(
            elder=elder,
            window_start__lte=today,
            window_end__gte=today,
            done_at__isnull=True,
            excused_at__isnull=True,
            cancelled_at__isnull=True,
        )
        .exclude(kind=TaskKind.REVIEW)
        .order_by("deadline", "window_start", "pk")
    )


# --- The village board ----------------------------------------------------------------

NO_TASK = "none"
# An elder's status this month is the first of these among their tasks: what
# still needs doing comes before what is lost, and that before what is settled.
_STATUS_ORDER = [
    TaskState.OVERDUE,
    TaskState.DUE,
    TaskState.MISSED,
    TaskState.DONE,
    TaskState.EXCUSED,
]
STATUS_LABELS: dict[str, str] = {
    **{str(state): str(state.label) for state in _STATUS_ORDER},
    NO_TASK: "本月无探访任务",
}


@dataclass(frozen=True)
class BoardRow:
    elder: Elder
    tier_label: str
    status: str
    tasks: list[tuple[VisitTask, TaskState]]
    visitors: list[Visitor]
    last_visit_at: datetime | None
    last_visit_mode: str

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


@dataclass(frozen=True)
class Board:
    village: Region
    month_start: date
    rows: list[BoardRow]
    counts: list[tuple[str, str, int]] = field(default_factory=list)


def board(user: User, village: Region, today: date) -> Board:
    """Every active elder of `village` with this month's visit tasks (started by
    today), their state, the responsible visitors and the last visit: three
    queries whatever the number of elders. A month is a calendar month in
    Asia/Shanghai (ARCHITECTURE.md), as the monthly visit rate counts it."""
    month_start = today.replace(day=1)
    month_tasks = (
        VisitTask.objects.filter(
            cancelled_at__isnull=True, window_start__lte=today, window_end__gte=month_start
        )
        .exclude(kind=TaskKind.REVIEW)
        .order_by("window_start", "deadline", "pk")
    )
    elders = _with_last_visit(
        Elder.objects.visible_to(user)
        .filter(village_id=village.code, status=Status.ACTIVE)
        .prefetch_related(
            Prefetch("visit_tasks", queryset=month_tasks, to_attr="month_tasks"),
            Prefetch(
                "assignments",
                queryset=_open_assignments().select_related("visitor").order_by("visitor__name"),
                to_attr="current",
            ),
        ),
        "pk",
    ).order_by("name", "pk")
    rows = []
    for elder in elders:
        tasks = [(t, t.state_on(today)) for t in elder.month_tasks]
        states = {state for _, state in tasks}
        status = next((str(s) for s in _STATUS_ORDER if s in states), NO_TASK)
        rows.append(
            BoardRow(
                elder=elder,
                tier_label=tier_words(elder)[0],
                status=status,
                tasks=tasks,
                visitors=[a.visitor for a in elder.current],
                last_visit_at=elder.last_visit_at,
                last_visit_mode=mode_label(elder.last_visit_mode),
            )
        )
    tally = {key: 0 for key in STATUS_LABELS}
    for row in rows:
        tally[row.status] += 1
    counts = [(key, STATUS_LABELS[key], tally[key]) for key in STATUS_LABELS]
    return Board(village=village, month_start=month_start, rows=rows, counts=counts)


@dataclass(frozen=True)
class PlaceRow:
    region: Region
    # For villages only: active elders, and elders with an open task due or late today.
    active: int | None = None
    due: int | None = None
    overdue: int | None = None


def places_under(user: User, region: Region, today: date) -> list[PlaceRow]:
    """The next level below `region` for a township, county or city officer to
    choose a village's board; villages with their counts, in one query."""
    children = Region.objects.filter(parent=region).order_by("code")
    if region.level != Level.TOWNSHIP:
        return [PlaceRow(child) for child in children]
    # `region` came through access.get_region_for: its villages are in scope.
    in_village = Elder.objects.visible_to(user).filter(
        village_id=OuterRef("code"), status=Status.ACTIVE
    )
    open_now = VisitTask.objects.filter(
        elder__village_id=OuterRef("code"),
        elder__status=Status.ACTIVE,
        window_start__lte=today,
        window_end__gte=today,
        done_at__isnull=True,
        excused_at__isnull=True,
        cancelled_at__isnull=True,
    ).exclude(kind=TaskKind.REVIEW)

    def counted(queryset: QuerySet[Any], village_field: str, elder_field: str) -> Coalesce:
        """How many elders of the row's village `queryset` holds."""
        totals = (
            queryset.order_by()
            .values(village_field)
            .annotate(n=Count(elder_field, distinct=True))
            .values("n")
        )
        return Coalesce(Subquery(totals, output_field=IntegerField()), Value(0))

    villages = children.filter(level=Level.VILLAGE).annotate(
        active=counted(in_village, "village_id", "pk"),
        due=counted(open_now.filter(deadline__gte=today), "elder__village_id", "elder_id"),
        overdue=counted(open_now.filter(deadline__lt=today), "elder__village_id", "elder_id"),
    )
    return [PlaceRow(v, v.active, v.due, v.overdue) for v in villages]


# --- One visit ------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    label: str
    words: str
    bad: bool


@dataclass(frozen=True)
class AnswerSection:
    title: str
    answers: list[Answer]


def answers_in_words(name: str, answers: Mapping[str, Any]) -> list[AnswerSection]:
    """The stored answers of a visit in the words of its form, section by section;
    bad answers flagged. Answers the form no longer knows are listed at the end
    as they were stored."""
    try:
        form = checklist.load(name)
    except ValueError:
        form = None
    sections: list[AnswerSection] = []
    known: set[str] = set()
    for section in form.sections if form else ():
        found = []
        for item in section.items:
            known.add(item.key)
            if item.key in answers:
                words, bad = _words(item, answers[item.key])
                found.append(Answer(item.label, words, bad))
        if found:
            sections.append(AnswerSection(section.title, found))
    rest = [Answer(key, str(value), False) for key, value in answers.items() if key not in known]
    if rest:
        sections.append(AnswerSection("其他", rest))
    return sections


def _words(item: checklist.Item, raw: Any) -> tuple[str, bool]:
    kind = item.kind
    if kind == Kind.TEXT:
        return str(raw), False
    if kind == Kind.NEED:
        if not isinstance(raw, Mapping) or not raw.get("needed"):
            return "否", False
        met = raw.get("met")
        return f"是（{item.detail_label or '是否满足'}：{'是' if met else '否'}）", met is False
    value = raw.get("value") if isinstance(raw, Mapping) else raw
    option = item.option(value) if isinstance(value, str) else None
    if option is None:
        return str(raw), False
    words = option.label
    if isinstance(raw, Mapping):
        detail = raw.get("detail") if kind == Kind.CHOICE_TEXT else raw.get("count")
        if detail not in (None, ""):
            words += f"{detail}{item.unit}" if kind == Kind.CHOICE_COUNT else f"（{detail}）"
    return words, option.bad


def needs_in_words(needs: Iterable[Mapping[str, Any]]) -> list[tuple[str, bool, str]]:
    """(need type in words, met, note) of the needs named on the form."""
    labels = dict(NeedType.choices)
    return [
        (
            str(labels.get(n.get("type", ""), n.get("type", ""))),
            bool(n.get("met")),
            n.get("note", ""),
        )
        for n in needs
    ]
