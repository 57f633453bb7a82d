"""phoenix.deploy.release_install: a release unpacked, checked and given its
virtualenv in one step, from a real artifact of the sample application."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile

import pytest

from tests.support import ROOT
from tests.support.modules import call_module


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """shop-v1.1.0.tar.gz, built by build_artifact from the sample repository."""
    work = tmp_path_factory.mktemp("artifact")
    subprocess.run([str(ROOT / "examples" / "make-app-repo"), str(work / "repo")], check=True, capture_output=True)
    result = call_module("build_artifact", {"repo": str(work / "repo"), "release": "v1.1.0", "name": "shop",
                                                "dest": str(work)})
    assert result["changed"], result
    return work / "shop-v1.1.0.tar.gz"


def install(run_module, src, dest, check_mode=False):
    # The controller's own interpreter stands in for the host's /usr/bin/python3.
    return run_module("release_install", {"src": str(src), "dest": str(dest), "release": "v1.1.0",
                                          "python": sys.executable}, check_mode=check_mode)


def rewritten(artifact, tmp_path, change) -> str:
    """A copy of the artifact with change(name, data) -> data applied to each
    member, and a member added where change returns it for name None."""
    out = tmp_path / "changed.tar.gz"
    with tarfile.open(artifact) as source, tarfile.open(out, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else b""
            data = change(member.name, data)
            member.size = len(data)
            target.addfile(member, io.BytesIO(data) if member.isfile() else None)
        extra = change(None, b"")
        if extra:
            target.addfile(extra)
    return str(out)


def test_a_release_is_installed_checked_and_runs(run_module, artifact, tmp_path):
    dest = tmp_path / "v1.1.0"
    result = install(run_module, artifact, dest)

    assert result["changed"] is True, result
    assert (dest / ".complete").read_text() == "v1.1.0\n"
    manifest = json.loads((dest / "manifest.json").read_text())
    assert result["files"] == len(manifest["files"]) > 0
    assert (dest / "src" / "RELEASE").read_text() == "v1.1.0\n"
    run = subprocess.run([str(dest / "venv" / "bin" / "python"), "-c", "import gunicorn, psycopg2; print(gunicorn.__version__)"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0 and run.stdout.strip() == "23.0.0", run.stderr
    assert (dest / "venv" / "bin" / "gunicorn").exists()


def test_a_complete_release_is_left_alone(run_module, artifact, tmp_path):
    dest = tmp_path / "v1.1.0"
    install(run_module, artifact, dest)
    (dest / "src" / "kept").write_text("untouched")

    again = install(run_module, artifact, dest)

    assert again["changed"] is False
    assert (dest / "src" / "kept").read_text() == "untouched"


def test_a_half_installed_release_is_installed_again(run_module, artifact, tmp_path):
    dest = tmp_path / "v1.1.0"
    (dest / "src").mkdir(parents=True)
    (dest / "src" / "leftover").write_text("from a run that died")

    result = install(run_module, artifact, dest)

    assert result["changed"] is True
    assert not (dest / "src" / "leftover").exists()
    assert (dest / ".complete").exists()


def test_check_mode_changes_nothing(run_module, artifact, tmp_path):
    dest = tmp_path / "v1.1.0"
    result = install(run_module, artifact, dest, check_mode=True)

    assert result["changed"] is True
    assert not dest.exists()


def test_a_file_that_differs_from_the_manifest_leaves_no_folder(run_module, artifact, tmp_path):
    changed = rewritten(artifact, tmp_path, lambda name, data: data + b"# changed\n" if name == "src/RELEASE" else data)
    dest = tmp_path / "v1.1.0"

    result = install(run_module, changed, dest)

    assert result["failed"] is True
    assert "(check every file against the manifest): files differ from the manifest: src/RELEASE" in result["msg"]
    assert not dest.exists()


def test_a_member_outside_the_folder_is_refused_and_leaves_no_folder(run_module, artifact, tmp_path):
    def escape(name, data):
        if name is None:
            member = tarfile.TarInfo("src/escape")
            member.type, member.linkname = tarfile.SYMTYPE, "../../../etc"
            return member
        return data

    dest = tmp_path / "v1.1.0"
    result = install(run_module, rewritten(artifact, tmp_path, escape), dest)

    assert result["failed"] is True
    assert "(unpack)" in result["msg"] and "src/escape" in result["msg"]
    assert not dest.exists()
