"""No face imports another face: the Agent Protocol and OpenAI faces sit on the shared HTTP pieces
and job services of ``introspect.api`` (outside ``routes``), never on the REST routes, the admin,
the CLI or each other."""

from __future__ import annotations

import ast
from pathlib import Path

import introspect

PACKAGE = Path(introspect.__file__).parent
FACES = {
    "agent_protocol": "introspect.agent_protocol",
    "openai_face": "introspect.openai_face",
    "rest": "introspect.api.routes",
    "admin": "introspect.admin",
    "cli": "introspect.cli",
}


def _imports(folder: Path) -> set[str]:
    found: set[str] = set()
    for file in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return found


def test_the_new_faces_import_no_other_face() -> None:
    for face in ("agent_protocol", "openai_face"):
        others = [prefix for name, prefix in FACES.items() if name != face]
        crossing = sorted(m for m in _imports(PACKAGE / face) if m.startswith(tuple(others)))
        assert crossing == [], f"{face} imports {crossing}"


def test_no_other_face_imports_the_new_faces() -> None:
    for name in ("rest", "admin", "cli"):
        folder = PACKAGE / FACES[name].removeprefix("introspect.").replace(".", "/")
        crossing = sorted(
            m
            for m in _imports(folder)
            if m.startswith(("introspect.agent_protocol", "introspect.openai_face"))
        )
        assert crossing == [], f"{name} imports {crossing}"
