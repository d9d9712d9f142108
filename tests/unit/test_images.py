"""`arrears images build`: where the Debian base comes from, and what names it."""

from __future__ import annotations

from pathlib import Path

import pytest

from arrears.cli.images import SERVICE_NAMES, debian_base_tag, debian_mirror, image_name

pytestmark = pytest.mark.unit


def test_the_mirror_is_read_from_deb822_sources_skipping_security(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\n"
        "\nTypes: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_the_mirror_is_read_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "# comment\ndeb [arch=amd64] https://deb.example.org/debian bookworm main\n"
    )
    assert debian_mirror(tmp_path) == "https://deb.example.org/debian"


def test_without_sources_the_mirror_is_debians_own(tmp_path: Path) -> None:
    assert debian_mirror(tmp_path) == "http://deb.debian.org/debian"


def test_the_base_and_the_images_have_stable_names() -> None:
    assert debian_base_tag() == debian_base_tag()
    assert debian_base_tag().startswith("arrears-base:bookworm-")
    assert {image_name(s) for s in SERVICE_NAMES} >= {"arrears-gateway:local"}
    assert image_name("aging", "1.2.0") == "arrears-aging:1.2.0"
