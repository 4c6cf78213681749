"""Structure the design depends on: no import cycles, and components that see only their own config.

Imports are read with ``ast`` from the source, so a cycle hidden behind ``TYPE_CHECKING`` or inside a
function counts too: either way one module could not be understood without the other.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

import config
from tests.support import python_files

ROOT = Path(__file__).resolve().parent.parent
SKIP = frozenset({".venv", "build", ".git", "out", "node_modules", "__pycache__"})
SOURCE_ROOTS = (ROOT, ROOT / "policies")
"""Where project modules are imported from: the repository, and the policy pack's own root."""


def project_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the project (packages by ``__init__``)."""
    modules: dict[str, Path] = {}
    for base in SOURCE_ROOTS:
        for path in python_files(base, SKIP):
            relative = path.relative_to(base)
            if base == ROOT and relative.parts[0] == "policies":
                continue
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                modules[".".join(parts)] = path
    return modules


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules ``name`` imports (``from pkg import mod`` counts as ``pkg.mod`` when that is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1] if package else []
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                found.add(candidate if candidate in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_among_project_modules() -> None:
    graph = import_graph()
    assert "components.contracts" in graph and "config.sections" in graph, "the scan found the project"
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_the_cycle_check_sees_a_cycle() -> None:
    """The check above can fail: a two-module and a three-module cycle are both found."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}}) == [["x", "y", "z"]]


def test_the_scan_resolves_from_imports_to_modules(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("from components import contracts\nfrom config.sections import Gateway\nimport versions\n")
    modules = project_modules()
    assert imports_of("m", path, modules) == {"components.contracts", "config.sections", "versions"}


# ---------------------------------------------------------------------------------------------
# Components see their own section, never the whole stack configuration
# ---------------------------------------------------------------------------------------------

COMPONENT_MODULES = sorted(
    name for name in project_modules() if name.startswith("components.") and name != "components"
)
ALLOWED_CONFIG_MODULES = {"config.sections", "config.capacity", "config.types"}
"""Components may import section models (``sections``, ``capacity``) and value types; loading, rules and the runtime
adapter are ``__main__``'s."""


@pytest.mark.parametrize("module", COMPONENT_MODULES)
def test_components_import_only_config_types(module: str) -> None:
    modules = project_modules()
    config_imports = {m for m in imports_of(module, modules[module], modules) if m.split(".")[0] == "config"}
    assert config_imports <= ALLOWED_CONFIG_MODULES, f"{module} imports {sorted(config_imports)}"
    tree = ast.parse(modules[module].read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert "StackConfig" not in names, f"{module} imports StackConfig"


def mentions(annotation: object, target: type) -> bool:
    """True when ``annotation`` is ``target`` or a generic/union that contains it."""
    if annotation is target:
        return True
    return any(mentions(arg, target) for arg in typing.get_args(annotation))


def component_args() -> list[type[BaseModel]]:
    found = []
    for name in COMPONENT_MODULES:
        module = importlib.import_module(name)
        found += [
            cls for cls_name, cls in inspect.getmembers(module, inspect.isclass)
            if cls_name.endswith("Args") and issubclass(cls, BaseModel) and cls.__module__ == name
        ]
    return found


def test_no_args_field_is_the_whole_stack_config() -> None:
    args = component_args()
    assert len(args) >= 12, f"found only {[a.__name__ for a in args]}"
    offending = [
        f"{cls.__module__}.{cls.__name__}.{field}"
        for cls in args
        for field, info in cls.model_fields.items()
        if mentions(info.annotation, config.StackConfig)
    ]
    assert not offending, f"Args fields typed as the whole stack config: {offending}"


def test_the_args_check_sees_a_stack_config_field() -> None:
    """The check above can fail: a field of type ``StackConfig | None`` is found."""

    class BadArgs(BaseModel):
        stack: config.StackConfig | None = None

    assert mentions(BadArgs.model_fields["stack"].annotation, config.StackConfig)


# ---------------------------------------------------------------------------------------------
# Hygiene: nothing machine-specific or generated under version control
# ---------------------------------------------------------------------------------------------


def tracked_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip(f"not a git checkout: {listed.stderr.decode().strip()}")
    return [ROOT / name for name in listed.stdout.decode().split("\0") if name]


def test_no_build_artefacts_are_tracked() -> None:
    files = tracked_files()
    assert files, "git ls-files listed nothing"
    artefacts = [
        str(f.relative_to(ROOT)) for f in files
        if ".egg-info" in f.as_posix() or f.suffix == ".tmp" or f.relative_to(ROOT).parts[0] in ("build", "dist")
    ]
    assert not artefacts, f"build artefacts in git (cover them in .gitignore): {artefacts}"


def test_no_tracked_file_names_this_machine() -> None:
    """The checkout's own parent directory (e.g. a workspace path) appears in no tracked text file."""
    machine = str(ROOT.parent) + "/"
    if machine in ("/", "//"):
        pytest.skip("the checkout sits at the file-system root: no parent path to look for")
    found = []
    for path in tracked_files():
        text_file = path.suffix in (".py", ".md", ".yaml", ".yml", ".toml", ".sh", ".cfg", ".txt")
        if not (text_file or path.name == "Makefile"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        if machine in text:
            found.append(str(path.relative_to(ROOT)))
    assert not found, f"{machine} written into {found}: use tools/paths.py (shared_dir) or a flag"


def test_a_virtualenv_in_the_tree_is_not_project_source(tmp_path: Path) -> None:
    """``make policy-venv`` puts a virtualenv in ``policies/venv``: its packages are not the project's."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("")
    venv = tmp_path / "pkg" / "any-name"
    (venv / "lib").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "lib" / "dep.py").write_text("")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "gen.py").write_text("")
    assert python_files(tmp_path, frozenset({"out"})) == [tmp_path / "pkg" / "mod.py"]
