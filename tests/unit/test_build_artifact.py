"""phoenix.deploy.build_artifact on the sample application's repository."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tarfile

import pytest

from tests.support import ROOT


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "repo"
    subprocess.run([str(ROOT / "examples" / "make-app-repo"), str(path)], check=True, capture_output=True)
    return path


def build(run_module, repo, dest, release="v1.1.0", **extra):
    return run_module("build_artifact", {"repo": str(repo), "release": release, "name": "shop", "dest": str(dest), **extra})


def test_the_same_tag_gives_the_same_bytes(run_module, repo, tmp_path):
    first = build(run_module, repo, tmp_path / "one")
    second = build(run_module, repo, tmp_path / "two")

    assert first["changed"] and second["changed"]
    assert first["sha256"] == second["sha256"]
    data = (tmp_path / "one" / "shop-v1.1.0.tar.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == first["sha256"]
    assert (tmp_path / "one" / "shop-v1.1.0.tar.gz.sha256").read_text().split()[0] == first["sha256"]


def test_an_artifact_holds_source_wheels_and_a_true_manifest(run_module, repo, tmp_path):
    result = build(run_module, repo, tmp_path)

    with tarfile.open(result["path"]) as artifact:
        names = artifact.getnames()
        manifest = json.load(artifact.extractfile("manifest.json"))
        for name, digest in manifest["files"].items():
            assert hashlib.sha256(artifact.extractfile(name).read()).hexdigest() == digest, name
        assert artifact.extractfile("src/RELEASE").read() == b"v1.1.0\n"
    assert "src/migrations/0002_item_title.yml" in names
    assert any(n.startswith("wheels/gunicorn-23.0.0") for n in names)
    assert any(n.startswith("wheels/psycopg2_binary-2.9.13-cp311") for n in names)
    assert manifest["release"] == "v1.1.0" and manifest["commit"] == result["commit"]
    assert set(manifest["files"]) == set(names) - {"manifest.json"}


def test_an_existing_artifact_is_kept(run_module, repo, tmp_path):
    build(run_module, repo, tmp_path)
    again = build(run_module, repo, tmp_path)
    assert again["changed"] is False


def test_a_tag_that_does_not_exist_is_named(run_module, repo, tmp_path):
    result = build(run_module, repo, tmp_path, release="v9.9.9")
    assert result["failed"] is True
    assert "the tag v9.9.9 does not exist" in result["msg"]
    assert "v1.0.0, v1.1.0, v1.1.1-bad, v1.2.0" in result["msg"]
    assert not (tmp_path / "shop-v9.9.9.tar.gz").exists()


def test_a_python_without_extraction_filters_builds_the_same_bytes(run_module, repo, tmp_path, monkeypatch):
    """Debian 12's Python 3.11.2 has no tarfile.data_filter; the module
    then checks the members itself, and the artifact is the same."""
    filtered = build(run_module, repo, tmp_path / "filtered")
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    by_hand = build(run_module, repo, tmp_path / "by-hand")

    assert by_hand["sha256"] == filtered["sha256"]


@pytest.mark.parametrize("name,kind,link,why", [
    ("src/app.py", tarfile.REGTYPE, "", ""),
    ("src/current", tarfile.SYMTYPE, "app.py", ""),
    ("/etc/passwd", tarfile.REGTYPE, "", "a path outside the folder"),
    ("src/../../x", tarfile.REGTYPE, "", "a path outside the folder"),
    ("src/escape", tarfile.SYMTYPE, "../../etc", "a link to '../../etc', outside the folder"),
    ("src/abs", tarfile.SYMTYPE, "/etc/shadow", "a link to '/etc/shadow', outside the folder"),
    ("src/disk", tarfile.BLKTYPE, "", "a device"),
])
def test_members_that_would_escape_the_folder_are_named(name, kind, link, why):
    from ansible_collections.phoenix.deploy.plugins.module_utils.archives import unsafe_member

    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, link
    assert unsafe_member(member) == why
