"""The import app sits above the apps it writes to: none of them imports it."""

import ast
from pathlib import Path

from django.conf import settings

LOWER_APPS = (
    "climcrm",
    "accounts",
    "leads",
    "opportunities",
    "activities",
    "partners",
    "forecasting",
    "pipeline_reviews",
    "privacy",
)


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_lower_app_imports_the_import_app():
    base = Path(settings.BASE_DIR)
    offenders = [
        str(path.relative_to(base))
        for app in LOWER_APPS
        for path in (base / app).rglob("*.py")
        if any(name == "imports" or name.startswith("imports.") for name in _imported_modules(path))
    ]
    assert not offenders
