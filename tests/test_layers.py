"""Layers point one way: the entry logic (suite/) sits on top and nothing below it imports it; utils/ sits at
the bottom and imports none of the suite's packages. Read from the import statements of every module."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ENTRY = "suite"
BELOW_ENTRY = ("datamodules", "evaluation", "callbacks", "lightning_modules", "utils")
PACKAGES = (*BELOW_ENTRY, ENTRY)


def imported_modules(path: Path) -> set[str]:
    """Every module an `import` or `from ... import` statement of the file names, anywhere in it."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's package
                package = path.relative_to(REPO).parent.parts[
                    : len(path.relative_to(REPO).parent.parts) - node.level + 1
                ]
                modules.add(".".join([*package, *([node.module] if node.module else [])]))
            else:
                modules.add(node.module)
    return modules


def top_packages(path: Path) -> set[str]:
    return {module.split(".")[0] for module in imported_modules(path)}


def sources(package: str) -> list[Path]:
    files = sorted((REPO / package).rglob("*.py"))
    assert files, f"no Python files in {package}/"
    return files


@pytest.mark.parametrize("package", BELOW_ENTRY)
def test_nothing_below_the_entry_logic_imports_it(package):
    offenders = [str(path.relative_to(REPO)) for path in sources(package) if ENTRY in top_packages(path)]
    assert not offenders, f"these modules import the entry logic ({ENTRY}/): {offenders}"


def test_utils_import_none_of_the_suites_packages():
    offenders = {
        str(path.relative_to(REPO)): sorted(top_packages(path) & (set(PACKAGES) - {"utils"}))
        for path in sources("utils")
    }
    assert not {path: found for path, found in offenders.items() if found}


def test_the_import_reader_sees_every_kind_of_import(tmp_path, monkeypatch):
    """The check above is only as good as its reader: absolute, from-, nested and relative imports."""
    package = tmp_path / "callbacks" / "sub"
    package.mkdir(parents=True)
    source = package / "module.py"
    source.write_text(
        "import suite.train\nfrom suite import runtime\n"
        "def late():\n    from utils.atomic import write_text\n"
        "from . import sibling\nfrom ..other import thing\n"
    )
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    assert imported_modules(source) == {
        "suite.train",
        "suite",
        "utils.atomic",
        "callbacks.sub",
        "callbacks.other",
    }
