"""The web app and the JSON API stand side by side: neither package imports the other, so
each can be read, changed and tested on its own (what both need lives in app/). And every
import stands at the top of its module, so a module's first lines are all it depends on:
an import hidden in a function conceals a dependency, or a cycle that a shared module
should break."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(root: Path, path: Path) -> set[str]:
    """Every module `path` imports, wherever the import statement stands, spelled absolutely
    (relative imports resolved against its package under `root`)."""
    package = ".".join(path.relative_to(root).parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def crossings(root: Path, package: str, forbidden: str) -> list[str]:
    """Each import of `forbidden` (or a module in it) by a module of `package` under `root`."""
    return sorted(
        f"{path.relative_to(root).as_posix()} imports {module}"
        for path in (root / package.replace(".", "/")).rglob("*.py")
        for module in imported_modules(root, path)
        if module == forbidden or module.startswith(f"{forbidden}.")
    )


@pytest.mark.parametrize(("package", "forbidden"), [("app.api", "app.web"), ("app.web", "app.api")])
def test_the_api_and_the_web_app_import_nothing_from_each_other(
    package: str, forbidden: str
) -> None:
    assert crossings(ROOT, package, forbidden) == []


def test_an_import_across_the_line_is_found_in_every_spelling(tmp_path: Path) -> None:
    """Absolute and relative, at the top or hidden inside a function."""
    api = tmp_path / "app" / "api"
    api.mkdir(parents=True)
    (api / "__init__.py").write_text("from ..web.numbers import MAX_ID\n", encoding="utf-8")
    (api / "views.py").write_text(
        "import json\nfrom app.db import db_session\n\n\n"
        "def view():\n    from app.web import auth\n    import app.web.browse\n"
        "    from .. import web\n",
        encoding="utf-8",
    )
    assert crossings(tmp_path, "app.api", "app.web") == [
        "app/api/__init__.py imports app.web.numbers",
        "app/api/__init__.py imports app.web.numbers.MAX_ID",
        "app/api/views.py imports app.web",
        "app/api/views.py imports app.web.auth",
        "app/api/views.py imports app.web.browse",
    ]


#: Imports that stand in a function on purpose, (module file, imported module), and why.
DEFERRED = {
    # scikit-learn and SciPy weigh about 100 MB of memory that only training needs, and
    # every quorum command (an ingest, a web worker) imports app.stance_training through
    # the command line, which offers training.
    ("app/stance_training.py", "scipy.sparse"),
    ("app/stance_training.py", "sklearn.linear_model"),
    ("app/stance_training.py", "sklearn.model_selection"),
}


def nested_imports(root: Path, packages: tuple[str, ...]) -> list[str]:
    """Each import statement in the modules of `packages` under `root` that is not a
    statement of the module itself (it stands in a function, a class or a block; imports
    for type checkers only, under ``if TYPE_CHECKING:``, count as the module's), as
    "path:line module", leaving out the DEFERRED ones."""
    found = []
    for package in packages:
        for path in (root / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            top = set(tree.body)
            for statement in tree.body:
                if isinstance(statement, ast.If) and ast.unparse(statement.test) == "TYPE_CHECKING":
                    top.update(statement.body)
            name = path.relative_to(root).as_posix()
            found.extend(
                (name, node.lineno, _imported(node))
                for node in ast.walk(tree)
                if isinstance(node, ast.Import | ast.ImportFrom)
                and node not in top
                and (name, _imported(node)) not in DEFERRED
            )
    return [f"{path}:{line} {module}" for path, line, module in sorted(found)]


def _imported(node: ast.Import | ast.ImportFrom) -> str:
    if isinstance(node, ast.ImportFrom):
        return "." * node.level + (node.module or "")
    return ", ".join(alias.name for alias in node.names)


def test_every_import_of_app_and_ingest_stands_at_the_top_of_its_module() -> None:
    assert nested_imports(ROOT, ("app", "ingest")) == []


def test_an_import_in_a_function_a_class_or_a_block_is_found(tmp_path: Path) -> None:
    package = tmp_path / "app"
    package.mkdir()
    (package / "views.py").write_text(
        "import json\nfrom app.db import db_session\n\n\n"
        "def view():\n    from app.web import auth\n\n\n"
        "class Form:\n    import re\n\n\n"
        "if json:\n    import os\n",
        encoding="utf-8",
    )
    assert nested_imports(tmp_path, ("app",)) == [
        "app/views.py:6 app.web",
        "app/views.py:10 re",
        "app/views.py:14 os",
    ]
