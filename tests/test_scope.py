"""Scope as querysets (ARCHITECTURE.md "Rules that hold everywhere"): pages and
API handlers reach the tables of people (every model of registry, visits and
care) only through the owning app's `.visible_to(user)` queryset, built from
the role rules in tanfang/accounts/access.py, or through a function of the
app's queries module. Zulip keeps a lint rule for the same thing; this is ours.

`<PeopleModel>.objects.<anything but visible_to>` in a views.py, api.py,
*_views.py or *_api.py module is refused, with the file, the line and the
model. A query through an object the user was already checked for
(`elder.visits.filter(...)`, a relation manager) is not a `.objects` and stays
allowed: it cannot leave that object.
"""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
PEOPLE_APPS = ("registry", "visits", "care")
# The managers a view could reach past the scope with.
MANAGERS = frozenset({"objects", "_default_manager", "_base_manager"})
ALLOWED = "visible_to"


@dataclass(frozen=True, order=True)
class Unscoped:
    path: str
    line: int
    model: str
    code: str

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.line}: {self.code} queries {self.model} past its scope; "
            f"use {self.model}.objects.{ALLOWED}(user) or a function of its app's queries module"
        )


def people_models() -> frozenset[str]:
    """The names of every model of the people apps, as the app registry lists them
    (a model added later is covered without touching this file)."""
    return frozenset(
        model.__name__ for label in PEOPLE_APPS for model in apps.get_app_config(label).get_models()
    )


def _names_in(node: ast.expr) -> Iterator[str]:
    """The names along an attribute chain: `registry_models.Elder` gives
    `registry_models` and `Elder`; `Visitor.villages.through` gives all three."""
    while isinstance(node, ast.Attribute):
        yield node.attr
        node = node.value
    if isinstance(node, ast.Name):
        yield node.id


def unscoped(source: str, path: str, models: frozenset[str]) -> list[Unscoped]:
    """The managers of people models used in `source` other than by `.visible_to`."""
    tree = ast.parse(source, filename=path)
    scoped = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == ALLOWED
    }
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr in MANAGERS):
            continue
        named = [name for name in _names_in(node.value) if name in models]
        if named and id(node) not in scoped:
            found.append(Unscoped(path, node.lineno, named[0], ast.unparse(node)))
    return sorted(found)


def view_modules() -> list[Path]:
    """The pages and API handlers: views.py, api.py, *_views.py, *_api.py."""
    return sorted(
        p
        for p in (ROOT / "tanfang").rglob("*.py")
        if "migrations" not in p.parts
        and (p.name in ("views.py", "api.py") or p.stem.endswith(("_views", "_api")))
    )


def test_views_and_api_handlers_query_people_only_through_visible_to() -> None:
    models = people_models()
    found = [
        problem
        for module in view_modules()
        for problem in unscoped(
            module.read_text(encoding="utf-8"), str(module.relative_to(ROOT)), models
        )
    ]
    assert not found, "\n".join(str(problem) for problem in found)


# The check itself -----------------------------------------------------------------------

SAMPLE = """\
from tanfang.registry import models as registry_models
from tanfang.registry.models import Elder


def page(request, user, elder):
    mine = Elder.objects.visible_to(user).filter(status="active")
    every = Elder.objects.filter(status="active")
    events = registry_models.LifeEvent.objects.all()
    visits = elder.visits.filter(pk=1)
    places = Region.objects.all()
    served = Visitor.villages.through.objects.count()
    return (
        Need.objects
        .select_related("elder")
    ), Hazard._default_manager.all()
"""


def test_it_names_the_file_the_line_and_the_model_of_every_unscoped_query() -> None:
    found = unscoped(SAMPLE, "tanfang/sample/views.py", people_models())

    assert [(p.line, p.model, p.code) for p in found] == [
        (7, "Elder", "Elder.objects"),
        (8, "LifeEvent", "registry_models.LifeEvent.objects"),
        (11, "Visitor", "Visitor.villages.through.objects"),
        (13, "Need", "Need.objects"),
        (15, "Hazard", "Hazard._default_manager"),
    ]
    assert str(found[0]).startswith("tanfang/sample/views.py:7: Elder.objects queries Elder")


def test_it_knows_every_model_of_the_people_apps() -> None:
    models = people_models()

    assert {
        "Elder",
        "ElderCategory",
        "EmergencyContact",
        "StatusChange",
        "LifeEvent",
        "Visitor",
        "Assignment",
        "VisitTask",
        "Visit",
        "Need",
        "NeedEvent",
        "Hazard",
        "Emergency",
        "EmergencyStep",
    } <= models
    assert "Region" not in models and "User" not in models


def test_it_reads_every_page_and_api_module() -> None:
    modules = {str(p.relative_to(ROOT)) for p in view_modules()}

    assert {
        "tanfang/api.py",
        "tanfang/registry/views.py",
        "tanfang/registry/api.py",
        "tanfang/registry/policy_api.py",
        "tanfang/registry/reveal_views.py",
        "tanfang/visits/roster_views.py",
        "tanfang/care/api.py",
    } <= modules
