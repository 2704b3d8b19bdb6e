"""What the application's code may import: never the tests, never test-only packages."""

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = {"tests", "factory", "faker", "pytest", "hypothesis", "time_machine"}


def app_packages() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return [pattern.rstrip("*") for pattern in patterns]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_application_code_imports_no_test_package():
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & TEST_ONLY)
        for package in app_packages()
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_roots(path) & TEST_ONLY
    }
    assert offenders == {}


def test_test_only_packages_are_in_the_dev_group_only():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {
        line.split("==")[0].split("[")[0].lower() for line in config["project"]["dependencies"]
    }
    dev = {line.split("==")[0].lower() for line in config["dependency-groups"]["dev"]}
    assert {"factory-boy", "mypy", "django-stubs"} <= dev
    assert not runtime & {"factory-boy", "faker", "mypy", "django-stubs", "pytest"}
