"""The import structure of pipeline/ (issue 18): layers point downward only, and no module imports itself back.

Static: every ``import`` / ``from ... import`` in every module under pipeline/ is read with ``ast``,
including imports inside functions and ``importlib.import_module("x")`` / ``__import__("x")`` with a
constant name, so an import that only runs on one code path is checked too. Nothing is imported.

The implicit import of a parent package (``import a.b`` runs ``a/__init__.py``) is not an edge: a
package's ``__init__`` may import its own members without that being a loop.
"""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[2]
SUBPROCESS_TIMEOUT_S = 60

# Bottom to top. A module may import its own layer and the layers below it, never one above.
# Prefixes match a module and everything under it ("pipeline.sources" holds pipeline.sources.*);
# the longest matching prefix wins; "pipeline" itself is the package's __init__ only.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("pipeline", "pipeline.errors", "pipeline.contract", "pipeline.config", "pipeline.config.loader",
              "pipeline.config.toml", "pipeline.ringbuffer", "pipeline.stats", "pipeline.sysinfo",
              "pipeline.preprocess", "pipeline.sources", "pipeline.engine",
              # the sections of the config tree, dataclasses over config.loader read by config.tree:
              # [daemon], and the pipeline and stage tables with the stage registry ([engine] is
              # pipeline.config.engine, --set overrides pipeline.config.overrides)
              "pipeline.daemon.config", "pipeline.runtime.config")),
    ("runtime", ("pipeline.runtime",)),
    # One folder per skill (pipeline/skills/<skill>/, its stage module included) and the generic stages.
    ("skills and stages", ("pipeline.stages", "pipeline.skills")),
    # The one place that imports every source and stage module (so they register), and the whole
    # config tree, which imports it (and nothing else above the base) because a pipeline table may
    # name any type.
    ("assembly", ("pipeline.assembly", "pipeline.config.tree")),
    ("apps", ("pipeline.daemon", "pipeline.demo", "pipeline.bench", "pipeline.cli")),
]

FORBIDDEN_EVERYWHERE = ("torch", "training", "export")  # the runtime installs without PyTorch
CONFIG_TREE = "pipeline.config.tree"
REGISTRATION = "pipeline.assembly"   # the config tree's one import above the base layer
# The config sections and the overrides: loading a config reads them without any runtime library.
LIGHT_CONFIG_MODULES = ("pipeline.config.engine", "pipeline.config.overrides", "pipeline.daemon.config",
                        "pipeline.runtime.config")
HEAVY = ("onnxruntime", "cv2", "sounddevice", "pipeline.engine", "pipeline.runtime.runner", "pipeline.runtime.stage",
         "pipeline.assembly")
ONNXRUNTIME_ONLY_IN = "pipeline.engine"                 # the one engine module

# Import cycles that are allowed, each with the reason. Empty: every loop issue 18 named is gone.
KNOWN_CYCLES: list[tuple[frozenset[str], str]] = []

SKILLS = "pipeline.skills"
SKILLS_DIR = PACKAGE_ROOT / "pipeline" / "skills"
# Skills that import another skill, as (importer, imported, reason). Empty: each skill stands alone, so
# that a device can drop one and a change to one cannot break another. Add a line only for a real need.
KNOWN_CROSS_SKILL: list[tuple[str, str, str]] = []


def module_files(root: Path, package: str = "pipeline") -> dict[str, tuple[Path, bool]]:
    """Module name -> (file, is a package __init__)."""
    modules = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


def _from_base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join(parts + ([node.module] if node.module else []))


def _dynamic_name(node: ast.Call) -> str | None:
    """The constant module name of importlib.import_module("x") or __import__("x"), else None."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


def imported_names(module: str, path: Path, is_package: bool, known: set[str]) -> set[str]:
    """Every module name this file imports, anywhere in it (``from m import x``: m.x if it is a module)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(module, is_package, node)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                names.add(full if full in known else base)
        elif isinstance(node, ast.Call) and (name := _dynamic_name(node)):
            names.add(name)
    names.discard(module)
    return names


def import_graph(root: Path, package: str = "pipeline") -> dict[str, set[str]]:
    """Module -> every name it imports (inside the package or not)."""
    modules = module_files(root, package)
    return {m: imported_names(m, path, is_pkg, set(modules)) for m, (path, is_pkg) in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Components of more than one module (Tarjan, iterative): each is an import cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start] & graph.keys())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child] & graph.keys()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def layer_of(module: str, layers=LAYERS) -> int | None:
    best = None
    for rank, (_, prefixes) in enumerate(layers):
        for prefix in prefixes:
            matches = module == prefix or ("." in prefix and module.startswith(prefix + "."))
            if matches and (best is None or len(prefix) > len(best[1])):
                best = (rank, prefix)
    return None if best is None else best[0]


def upward_imports(graph: dict[str, set[str]], layers=LAYERS) -> list[str]:
    problems = []
    for module, names in sorted(graph.items()):
        for name in sorted(names & graph.keys()):
            if layer_of(name, layers) > layer_of(module, layers):
                problems.append(f"{module} ({layers[layer_of(module, layers)][0]}) imports {name} "
                                f"({layers[layer_of(name, layers)][0]})")
    return problems


def forbidden_imports(graph: dict[str, set[str]]) -> list[str]:
    problems = []
    for module, names in sorted(graph.items()):
        for name in sorted(names):
            top = name.split(".")[0]
            if top in FORBIDDEN_EVERYWHERE:
                problems.append(f"{module} imports {name}")
            if top == "onnxruntime" and module != ONNXRUNTIME_ONLY_IN:
                problems.append(f"{module} imports {name} (only {ONNXRUNTIME_ONLY_IN} may)")
    return problems


def skill_of(module: str, skills: str = SKILLS) -> str | None:
    """"pipeline.skills.ocr.reader" -> "ocr"; None outside a skill folder (the skills package itself too)."""
    parts = module.split(".")
    prefix = skills.split(".")
    return parts[len(prefix)] if parts[:len(prefix)] == prefix and len(parts) > len(prefix) else None


def cross_skill_imports(graph: dict[str, set[str]], skills: str = SKILLS) -> list[tuple[str, str]]:
    """(importing skill, imported skill) for every import from one skill folder into another."""
    found = set()
    for module, names in graph.items():
        own = skill_of(module, skills)
        for name in names:
            other = skill_of(name, skills)
            if own and other and other != own:
                found.add((own, other))
    return sorted(found)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    """Every name ``start`` imports, directly or through the package's own modules."""
    seen, todo = set(), [start]
    while todo:
        for name in graph.get(todo.pop(), ()):
            if name not in seen:
                seen.add(name)
                todo.append(name)
    return seen


def heavy_imports(graph: dict[str, set[str]], module: str) -> list[str]:
    return sorted(n for n in reachable(graph, module) if n.split(".")[0] in HEAVY or n in HEAVY)


@pytest.fixture(scope="module")
def graph():
    return import_graph(PACKAGE_ROOT)


def test_every_module_has_a_layer(graph):
    assert [m for m in graph if layer_of(m) is None] == []


def test_no_torch_training_or_export_and_onnxruntime_only_in_the_engine(graph):
    assert "onnxruntime" in graph[ONNXRUNTIME_ONLY_IN]  # the walk does see the engine's import
    assert forbidden_imports(graph) == []


def test_no_module_imports_a_higher_layer(graph):
    assert upward_imports(graph) == []


def test_skills_do_not_import_each_other(graph):
    assert any(skill_of(m) for m in graph)  # the walk does see the skill folders
    assert cross_skill_imports(graph) == sorted((a, b) for a, b, _ in KNOWN_CROSS_SKILL)


def test_every_skill_folder_has_a_stage_module_the_assembly_imports(graph):
    """A skill's stage types register only when pipeline.assembly imports its ``stage`` module; one it
    forgets would make the skill's type unknown to every config, with no error until a config names it."""
    skills = sorted(p.name for p in SKILLS_DIR.iterdir() if (p / "__init__.py").is_file())
    assert skills == sorted({skill_of(m) for m in graph} - {None})
    assert [s for s in skills if f"{SKILLS}.{s}.stage" not in graph[REGISTRATION]] == []


def test_the_config_tree_reads_light_sections_and_imports_the_assembly_only_to_register(graph):
    """config.tree once imported the runner and the engine for its types; now only the base layer and
    the assembly (registration), so a section type moving back into a runtime module fails here."""
    above_base = sorted(n for n in graph[CONFIG_TREE] & graph.keys() if layer_of(n) != 0)
    assert above_base == [REGISTRATION]
    assert set(LIGHT_CONFIG_MODULES) <= graph[CONFIG_TREE]


def test_importing_the_config_sections_loads_no_runtime_library():
    """The same at run time, package __init__ files included: a fresh interpreter imports the sections."""
    code = (f"import sys\nimport {', '.join(LIGHT_CONFIG_MODULES)}\n"
            f"print(sorted(m for m in sys.modules if m in {list(HEAVY)!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE_ROOT, timeout=SUBPROCESS_TIMEOUT_S)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("module", LIGHT_CONFIG_MODULES)
def test_config_sections_load_no_runtime_library(graph, module):
    assert heavy_imports(graph, module) == []


def test_every_import_inside_the_package_names_a_module_that_exists(graph):
    missing = sorted(f"{m} imports {n}" for m, names in graph.items() for n in names
                     if n.split(".")[0] == "pipeline" and n not in graph)
    assert missing == []


def test_no_import_cycle_but_the_documented_ones(graph):
    allowed = {members for members, _ in KNOWN_CYCLES}
    cycles = strongly_connected(graph)
    assert sorted(sorted(c) for c in cycles if c not in allowed) == []
    assert sorted(sorted(c) for c in allowed - set(cycles)) == []  # a fixed cycle leaves the list


def test_the_checks_catch_what_they_are_for(tmp_path):
    """The same walk over a made-up package with one of each defect finds every one."""
    files = {
        "__init__.py": "",
        "low.py": "def f():\n    from fake import high  # a function-level upward import\n",
        "high.py": "import torch\nimport onnxruntime\nfrom . import low\n",
        "a.py": "import importlib\nimportlib.import_module('fake.b')\n",
        "b.py": "from fake.a import something\n",
    }
    (tmp_path / "fake").mkdir()
    for name, text in files.items():
        (tmp_path / "fake" / name).write_text(text)
    fake = import_graph(tmp_path, "fake")
    layers = [("low", ("fake", "fake.low", "fake.a", "fake.b")), ("high", ("fake.high",))]
    assert upward_imports(fake, layers) == ["fake.low (low) imports fake.high (high)"]
    assert forbidden_imports(fake) == ["fake.high imports onnxruntime (only pipeline.engine may)",
                                       "fake.high imports torch"]
    assert sorted(sorted(c) for c in strongly_connected(fake)) == [["fake.a", "fake.b"],
                                                                   ["fake.high", "fake.low"]]
    assert heavy_imports(fake, "fake.b") == []                    # b -> a -> importlib only
    assert heavy_imports(fake, "fake.low") == ["onnxruntime"]     # low -> high -> onnxruntime


def test_the_cross_skill_check_catches_one_skill_importing_another(tmp_path):
    files = {"__init__.py": "", "skills/__init__.py": "from fake.skills import one\n",
             "skills/one/__init__.py": "", "skills/one/stage.py": "from fake.skills.one import reader\n",
             "skills/one/reader.py": "def f():\n    from fake.skills.two.steps import g\n",
             "skills/two/__init__.py": "", "skills/two/steps.py": "import fake.base\n", "base.py": ""}
    for name, text in files.items():
        (tmp_path / "fake" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "fake" / name).write_text(text)
    fake = import_graph(tmp_path, "fake")
    # the skills package importing its members and a skill importing itself are not cross-skill imports
    assert cross_skill_imports(fake, "fake.skills") == [("one", "two")]
