"""suite/ names no method: it reaches a method's own abilities (style transfer, guided inpainting) through
InpaintingModule's hooks, so that a method can be added or removed without touching the entry logic."""

from __future__ import annotations

import ast
from pathlib import Path

from suite_cli import REPO

# shared by the methods, not methods themselves
SHARED = {"colorization", "common"}
METHODS = {
    path.parent.name
    for path in (REPO / "lightning_modules").glob("*/__init__.py")
    if path.parent.name not in SHARED
}


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at its top or inside a function."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules.update(
                f"{node.module}.{alias.name}" for alias in node.names
            )  # from package import module
    return modules


def test_the_method_list_is_what_lightning_modules_holds():
    assert {
        "gatedconv",
        "edgeconnect",
        "hifill",
        "gmcnn",
        "deepgin",
        "blockwise",
        "feature_translation",
    } <= METHODS


def test_no_module_of_suite_imports_a_method_package():
    offending = {
        f"{path.relative_to(REPO)}: {module}"
        for path in sorted((REPO / "suite").glob("*.py"))
        for module in imported_modules(path)
        if module.startswith("lightning_modules.") and module.split(".")[1] in METHODS
    }
    assert not offending, f"suite/ must reach methods through InpaintingModule's hooks: {sorted(offending)}"
