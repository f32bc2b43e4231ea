"""The one-way structure (docs/架构.md): the layers contract of pyproject.toml
holds, and would catch an upward import; no module imports itself round a
cycle; no import hides inside a function to dodge one."""

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# Django imports these inside AppConfig.ready(), once the models are loaded:
# signal receivers, history registration, system checks.
READY_IMPORTS = {"tanfang/accounts/apps.py", "tanfang/registry/apps.py", "tanfang/visits/apps.py"}


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 (our own lint-imports on a copy of our code)
        [str(LINT_IMPORTS), str(tree / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def copy_of_the_code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("layers")
    shutil.copytree(
        ROOT / "tanfang", tree / "tanfang", ignore=shutil.ignore_patterns("static", "templates")
    )
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_contract_holds_and_fails_on_an_upward_import(copy_of_the_code: Path) -> None:
    kept = _lint_imports(copy_of_the_code)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "0 broken" in kept.stdout

    # The rules of the policy app (the bottom layer) reading a visit record.
    engine = copy_of_the_code / "tanfang" / "policy" / "engine.py"
    original = engine.read_text()
    engine.write_text(original + "\nfrom tanfang.visits.models import Visit  # noqa\n")
    try:
        broken = _lint_imports(copy_of_the_code)
    finally:
        engine.write_text(original)
    assert broken.returncode == 1
    assert "tanfang.policy.engine -> tanfang.visits.models" in broken.stdout


def test_it_fails_on_an_import_from_a_page_into_the_rules(copy_of_the_code: Path) -> None:
    # A lower layer (the monthly rollup's row) importing an upper one (a page).
    rows = copy_of_the_code / "tanfang" / "registry" / "queries.py"
    original = rows.read_text()
    rows.write_text(original + "\nimport tanfang.registry.views  # noqa\n")
    try:
        broken = _lint_imports(copy_of_the_code)
    finally:
        rows.write_text(original)
    assert broken.returncode == 1
    assert "tanfang.registry.queries -> tanfang.registry.views" in broken.stdout


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for module in modules:
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_round_a_cycle() -> None:
    assert _cycles(grimp.build_graph("tanfang", cache_dir=None)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = grimp.ImportGraph()
    for module in ("a", "a.one", "a.two", "a.three"):
        graph.add_module(module)
    graph.add_import(importer="a.one", imported="a.two")
    graph.add_import(importer="a.two", imported="a.one")
    graph.add_import(importer="a.three", imported="a.one")
    assert _cycles(graph) == [["a.one", "a.two"]]


def _imports_in_functions(source: str) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    module = getattr(inner, "module", None) or inner.names[0].name
                    found.append((inner.lineno, f"{node.name}: {module}"))
    return found


def test_no_import_hides_in_a_function() -> None:
    hidden = [
        f"{path.relative_to(ROOT)}:{line} {what}"
        for path in sorted((ROOT / "tanfang").rglob("*.py"))
        if "migrations" not in path.parts and str(path.relative_to(ROOT)) not in READY_IMPORTS
        for line, what in _imports_in_functions(path.read_text())
    ]
    assert hidden == []


def test_the_function_import_finder_finds_one() -> None:
    source = "import os\n\ndef f():\n    from tanfang import months\n    return months\n"
    assert _imports_in_functions(source) == [(4, "f: tanfang")]
