"""The wheel ships every built-in rule data file (an installed qa must find what rules/ holds)."""

import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def test_every_rules_folder_is_a_shipped_package_with_its_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package_dirs = {folder: package for package, folder in config["package-dir"].items()}
    for folder in sorted({p.parent for p in (REPO / "rules").rglob("*") if p.is_file()}):
        relative = folder.relative_to(REPO).as_posix()
        assert relative in package_dirs, f"{relative} is not mapped to a package in pyproject.toml"
        package = package_dirs[relative]
        assert package in config["packages"], f"{package} is not listed in [tool.setuptools] packages"
        patterns = config["package-data"].get(package, [])
        for path in folder.iterdir():
            if path.is_file():
                assert any(path.match(pattern) for pattern in patterns), f"{path.name} is not in {package}'s package-data"


def test_every_qa_subpackage_is_shipped():
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    for init in sorted((REPO / "qa").rglob("__init__.py")):
        package = ".".join(init.parent.relative_to(REPO).parts)
        assert package in config["packages"], f"{package} is not listed in [tool.setuptools] packages"


@pytest.mark.slow
def test_qa_itself_does_not_import_openpyxl():
    # openpyxl is a test dependency only (the `test` extra): an installed qa must not need it.
    import ast

    for path in (REPO / "qa").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(name.split(".")[0] == "openpyxl" for name in names), f"{path} imports openpyxl"
