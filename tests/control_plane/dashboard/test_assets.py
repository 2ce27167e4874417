"""The dashboard's static files: which paths are served, and the version that names them."""
import os

import pytest

from control_plane.dashboard.assets import StaticAssets


@pytest.fixture
def assets(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "main.js").write_text("export {};")
    (tmp_path / "app.css").write_text("body {}")
    (tmp_path / "index.html").write_text('<script src="%ASSETS%/js/main.js"></script>')
    (tmp_path / "notes.txt").write_text("not an asset")
    (tmp_path.parent / "secret.js").write_text("outside")
    return StaticAssets(tmp_path)


@pytest.mark.parametrize("path", ["js/main.js", "app.css"])
def test_files_of_served_types_are_found(assets, path):
    assert assets.find(path) == assets.root / path


@pytest.mark.parametrize("path", ["../secret.js", "js/../../secret.js", "index.html", "notes.txt", "js", "js/",
                                  ".git/config", "js//main.js", "js\\main.js", "js/missing.js"])
def test_other_paths_are_not_served(assets, path):
    assert assets.find(path) is None


def test_a_symlink_out_of_the_root_is_not_served(assets):
    os.symlink(assets.root.parent / "secret.js", assets.root / "js" / "link.js")
    assert assets.find("js/link.js") is None


def test_the_version_changes_with_any_files_content_and_only_then(assets):
    before = assets.version()
    assert assets.version() == before and len(before) == 16
    (assets.root / "app.css").write_text("body { color: red }")
    assert assets.version() != before


def test_the_page_names_the_versioned_assets(assets):
    assert assets.index_html("/app/assets/abc") == '<script src="/app/assets/abc/js/main.js"></script>'
