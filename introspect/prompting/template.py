"""Versioned prompt templates: one file per prompt, its name, version and variables declared on top.

A template file is TOML front matter between ``+++`` lines, then a Jinja body (sandboxed, strict
undefined)::

    +++
    name = "revise"
    version = 1
    variables = ["feedback", "passages"]
    role = "user"
    description = "..."
    +++
    {{ feedback }}

Loading validates the header (the name must match the file, the version is a positive integer) and
that the body uses exactly the declared variables, so a typo fails at start-up rather than as a
silently empty prompt. Every turn records the template's name and the SHA-256 of the whole file, so a
training example can be traced to the exact prompt text that produced it.
"""

from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import SandboxedEnvironment

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
SUFFIX = ".prompt"
_FRONT = re.compile(r"\A\+\+\+\n(?P<header>.*?)\n\+\+\+\n(?P<body>.*)\Z", re.DOTALL)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
_ROLES = ("system", "user", "assistant")

# One sandboxed environment: templates are repository files, but variables carry model output.
_ENV = SandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=False, autoescape=False)


@functools.lru_cache(maxsize=256)
def _compiled(body: str) -> Template:
    # Compiling a Jinja body costs far more than rendering it, and every turn renders prompts.
    return _ENV.from_string(body)


class PromptError(ValueError):
    """A template file is malformed, or a render got the wrong variables."""


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    version: int
    variables: tuple[str, ...]
    role: str
    body: str
    sha256: str
    description: str = ""

    def render(self, **values: Any) -> str:
        given, declared = set(values), set(self.variables)
        if given != declared:
            missing, extra = sorted(declared - given), sorted(given - declared)
            raise PromptError(f"prompt {self.name!r}: missing {missing}, unexpected {extra}")
        return _compiled(self.body).render(**values).strip()

    def message(self, **values: Any) -> dict[str, str]:
        """The rendered prompt as one chat message in this template's role."""
        return {"role": self.role, "content": self.render(**values)}


def parse_template(text: str, expected_name: str | None = None) -> PromptTemplate:
    match = _FRONT.match(text.replace("\r\n", "\n"))
    if match is None:
        raise PromptError("a prompt file starts with a '+++' TOML header closed by another '+++' line")
    try:
        header = tomllib.loads(match["header"])
    except tomllib.TOMLDecodeError as exc:
        raise PromptError(f"bad prompt header: {exc}") from exc
    unknown = set(header) - {"name", "version", "variables", "role", "description"}
    if unknown:
        raise PromptError(f"unknown prompt header keys: {sorted(unknown)}")
    name, version = header.get("name"), header.get("version")
    variables, role = header.get("variables", []), header.get("role", "user")
    if not isinstance(name, str) or not _IDENT.match(name):
        raise PromptError(f"prompt name must be a lower-case identifier, got {name!r}")
    if expected_name is not None and name != expected_name:
        raise PromptError(f"prompt file {expected_name!r} declares name {name!r}")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise PromptError(f"prompt {name!r}: version must be a positive integer")
    if not isinstance(variables, list) or not all(isinstance(v, str) and _IDENT.match(v) for v in variables):
        raise PromptError(f"prompt {name!r}: variables must be a list of identifiers")
    if role not in _ROLES:
        raise PromptError(f"prompt {name!r}: role must be one of {_ROLES}")
    body = match["body"]
    try:
        used = meta.find_undeclared_variables(_ENV.parse(body))
    except TemplateSyntaxError as exc:
        raise PromptError(f"prompt {name!r}: template syntax error: {exc}") from exc
    if used != set(variables):
        raise PromptError(
            f"prompt {name!r}: body uses {sorted(used)} but the header declares {sorted(variables)}"
        )
    return PromptTemplate(
        name=name,
        version=version,
        variables=tuple(variables),
        role=role,
        body=body,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        description=str(header.get("description", "")),
    )


class PromptLibrary:
    """All templates of one directory, validated eagerly on construction. Each of ``overlays`` (a
    model's own prompts, then the operator's ``INTROSPECT_PROMPTS_DIR``) replaces the templates of
    the same name; a template it does not have keeps the built-in one."""

    def __init__(self, directory: Path = PROMPTS_DIR, overlays: tuple[Path, ...] = ()) -> None:
        self.directory = directory
        self._templates: dict[str, PromptTemplate] = {}
        for folder in (directory, *overlays):
            if folder != directory and not folder.is_dir():
                raise PromptError(f"prompt directory {folder} does not exist")
            for path in sorted(folder.glob(f"*{SUFFIX}")):
                try:
                    template = parse_template(path.read_text(encoding="utf-8"), expected_name=path.stem)
                except PromptError as exc:
                    raise PromptError(f"{path}: {exc}") from exc
                self._templates[template.name] = template

    def __getitem__(self, name: str) -> PromptTemplate:
        try:
            return self._templates[name]
        except KeyError:
            raise PromptError(f"no prompt template named {name!r} in {self.directory}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._templates

    def names(self) -> list[str]:
        return sorted(self._templates)
