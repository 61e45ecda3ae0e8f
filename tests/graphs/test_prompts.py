"""Prompt templates: declared header, validated body, stable hash, strict rendering."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from introspect.models.catalog import CATALOG
from introspect.prompting import PROMPTS_DIR, PromptError, PromptLibrary, default_library, parse_template

DEMO_PROMPTS = CATALOG["demo"].prompts or Path()
GOOD = '+++\nname = "hello"\nversion = 2\nvariables = ["who"]\n+++\nHello {{ who }}!\n'


def test_repository_prompts_load() -> None:
    library = default_library()
    assert {"generate", "revise", "critique", "judge", "human"} <= set(library.names())
    for name in library.names():
        template = library[name]
        text = (PROMPTS_DIR / f"{name}.prompt").read_text()
        assert template.sha256 == hashlib.sha256(text.encode()).hexdigest()
        assert template.version >= 1


def test_render() -> None:
    template = parse_template(GOOD, expected_name="hello")
    assert (template.name, template.version, template.variables) == ("hello", 2, ("who",))
    assert template.render(who="world") == "Hello world!"
    assert template.message(who="you") == {"role": "user", "content": "Hello you!"}
    with pytest.raises(PromptError, match="missing"):
        template.render()
    with pytest.raises(PromptError, match="unexpected"):
        template.render(who="x", extra=1)


def test_demo_revise_template_shows_passages_then_feedback() -> None:
    """The demo model's own revise template (RISE's conversation format, which it was trained on)."""
    revise = PromptLibrary(PROMPTS_DIR, (DEMO_PROMPTS,))["revise"]
    assert revise.render(feedback="Try again.", passages=[]) == "Try again."
    text = revise.render(feedback="Try again.", passages=[{"title": "T", "content": "C"}, {"content": "D"}])
    assert text == "Passages that may help:\n[1] T: C\n[2] D\n\nTry again."


def test_fresh_revise_template_restates_the_task_with_earlier_attempts() -> None:
    revise = default_library()["revise"]
    text = revise.render(
        question="What is 2 + 3?",
        attempts=[{"answer": "6", "feedback": "The answer is incorrect."}, {"answer": "7", "feedback": ""}],
        passages=[],
    )
    assert text.startswith("What is 2 + 3?")
    assert "A previous answer was: 6\nThe answer is incorrect." in text
    assert "A previous answer was: 7\n\nAnswer the question above again" in text
    assert text.endswith("from the start, in full.")


def test_an_overlay_directory_replaces_templates_by_name(tmp_path: Path) -> None:
    (tmp_path / "generate.prompt").write_text(
        '+++\nname = "generate"\nversion = 7\nvariables = ["question"]\n+++\nQ: {{ question }}\n'
    )
    library = PromptLibrary(PROMPTS_DIR, (tmp_path,))
    assert library["generate"].version == 7 and library["generate"].render(question="x") == "Q: x"
    assert library["judge"] == default_library()["judge"]
    with pytest.raises(PromptError, match="does not exist"):
        PromptLibrary(PROMPTS_DIR, (tmp_path / "missing",))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Hello", "header"),
        ('+++\nname = "hello"\nversion = 1\n+++\nHi {{ who }}', "declares"),
        ('+++\nname = "hello"\nversion = 1\nvariables = ["who", "unused"]\n+++\nHi {{ who }}', "declares"),
        ('+++\nname = "Hello!"\nversion = 1\n+++\nHi', "identifier"),
        ('+++\nname = "other"\nversion = 1\n+++\nHi', "declares name"),
        ('+++\nname = "hello"\nversion = 0\n+++\nHi', "version"),
        ('+++\nname = "hello"\nversion = 1\nrole = "robot"\n+++\nHi', "role"),
        ('+++\nname = "hello"\nversion = 1\ncolour = 1\n+++\nHi', "unknown prompt header"),
        ('+++\nname = "hello"\nversion = 1\n+++\nHi {{ who ', "syntax"),
        ("+++\nname = \n+++\nHi", "bad prompt header"),
    ],
)
def test_invalid_templates_fail_on_load(text: str, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_template(text, expected_name="hello")


def test_library_validates_every_file(tmp_path: Path) -> None:
    (tmp_path / "hello.prompt").write_text(GOOD)
    assert PromptLibrary(tmp_path)["hello"].render(who="x") == "Hello x!"
    with pytest.raises(PromptError, match="no prompt template named"):
        PromptLibrary(tmp_path)["missing"]
    (tmp_path / "broken.prompt").write_text("no header")
    with pytest.raises(PromptError, match=r"broken\.prompt"):
        PromptLibrary(tmp_path)


def test_sandbox_blocks_unsafe_attribute_access(tmp_path: Path) -> None:
    template = parse_template(
        '+++\nname = "x"\nversion = 1\nvariables = ["v"]\n+++\n{{ v.__class__.__mro__ }}'
    )
    with pytest.raises(Exception, match=r"unsafe|access"):
        template.render(v="text")
