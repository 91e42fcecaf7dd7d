"""The repository uses other packages' public APIs only: a private module or name (hydra._internal,
lightning_fabric's _PATH) may change or vanish in any release of its package.

The rule, checked with `ast` on every module of the repository (the scripts at its root and every top-level
folder holding Python modules: the packages, tests/, benchmarks/; .venv and datasets are not walked): an
import of another package fails when a component of its module path, or a name it imports, starts with an
underscore. Dunder names (`__future__`, `__version__`) are public. The repository's own modules (its
packages and root scripts, and the modules of tests/ and benchmarks/, which import each other by bare name)
are one codebase changed together, so they may import each other's underscore names; so may relative
imports. `importlib.import_module` with a literal module name counts as an import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def source_files() -> list[Path]:
    folders = [
        path
        for path in REPO.iterdir()
        if path.is_dir() and not path.name.startswith(".") and any(path.glob("*.py"))
    ]
    return sorted([*REPO.glob("*.py"), *(file for folder in folders for file in folder.rglob("*.py"))])


def own_modules(files: list[Path]) -> set[str]:
    """Top-level names of the repository's modules: root scripts, packages, and the modules of folders
    without __init__.py (tests/, benchmarks/), which their scripts import by bare name."""
    names = set()
    for file in files:
        parts = file.relative_to(REPO).parts
        if (REPO / parts[0] / "__init__.py").is_file():
            names.add(parts[0])
        elif len(parts) <= 2:
            names.add(file.stem)
    return names


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def imported_module(call: ast.Call) -> str | None:
    """The module of `importlib.import_module("...")` or `import_module("...")` with a literal name."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name == "import_module" and call.args and isinstance(call.args[0], ast.Constant):
        return call.args[0].value if isinstance(call.args[0].value, str) else None
    return None


def imports(tree: ast.AST) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, imported names) of every absolute import; relative ones stay inside the repository."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Call) and (module := imported_module(node)):
            yield node.lineno, module, []


def offences(source: str, own: set[str]) -> list[str]:
    """`line: module[: names]` for each import of another package's private module or names."""
    found = []
    for line, module, names in sorted(imports(ast.parse(source))):
        if module.split(".")[0] in own:
            continue
        private_names = [name for name in names if private(name)]
        if any(private(part) for part in module.split(".")) or private_names:
            found.append(f"{line}: {module}" + (f": {', '.join(private_names)}" if private_names else ""))
    return found


def test_the_rule():
    source = (
        "from __future__ import annotations\n"
        "from hydra._internal.core_plugins.basic_sweeper import BasicSweeper\n"
        "from lightning_fabric.utilities.types import _PATH, __version__\n"
        "import torch._dynamo\n"
        "importlib.import_module('torch._C')\n"
        "from utils.atomic import _private\n"
        "from . import _sibling\n"
        "from omegaconf import OmegaConf\n"
        "import_module('cv2.ximgproc')\n"
    )
    assert offences(source, {"utils"}) == [
        "2: hydra._internal.core_plugins.basic_sweeper",
        "3: lightning_fabric.utilities.types: _PATH",
        "4: torch._dynamo",
        "5: torch._C",
    ]


def test_only_public_apis_of_other_packages_are_imported():
    files = source_files()
    own = own_modules(files)
    assert {"utils", "callbacks", "train", "checkpoints", "colorization_quality"} <= own
    found = [
        f"{file.relative_to(REPO)}:{offence}"
        for file in files
        for offence in offences(file.read_text(encoding="utf-8"), own)
    ]
    assert not found, "private APIs of other packages imported:\n" + "\n".join(found)
