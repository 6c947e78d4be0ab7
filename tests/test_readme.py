"""The README works in a fresh clone: every setting is documented, every link and file it names is in
the repository, and the commands it shows exist."""

from __future__ import annotations

import re
from pathlib import Path

import run
from config.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", README))
    missing = sorted(name.upper() for name in Settings.model_fields if name.upper() not in documented)
    assert missing == [], f"add these settings to the README's tables: {missing}"


def test_nothing_points_outside_the_repository() -> None:
    for path in ("README.md", "requirements.txt", "requirements-dev.txt", *map(str, (ROOT / "docs").glob("*.md"))):
        text = (ROOT / path).read_text(encoding="utf-8")
        assert not re.search(r"(?<![.\w])\.\./", text), f"{path} names a file outside the repository"
        assert "DESIGN.md" not in text, path
        folder = (ROOT / path).parent
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue  # a URL (the server's own pages are written <http://127.0.0.1:8080/...>)
            assert (folder / target).exists(), f"{path} links to a missing {target}"


def test_the_commands_shown_exist() -> None:
    commands = set(re.findall(r"run\.py (\w[\w-]*)", README))
    choices = next(a for a in run.build_parser()._actions if a.dest == "command").choices
    assert choices is not None
    assert commands <= set(choices), commands - set(choices)
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"(?:^|`|= )make ([a-z-]+)", README, re.M)):
        assert re.search(rf"^{target}:", makefile, re.M), f"README mentions `make {target}`"
    assert "jq" in README and "%{http_code}" in README  # the walk-through says what it needs, shows codes
