"""phoenix.deploy.release_activate: an installed release made current, with
its settings, the clean-up of old releases and the host's record, in one
call; on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import time

import pytest

SECRET = "s3cret-database-password"


@pytest.fixture
def root(tmp_path):
    (tmp_path / "releases").mkdir()
    (tmp_path / "shared").mkdir()
    return tmp_path


def install(root, release: str, age: float = 0.0) -> None:
    """A complete release, as release_install leaves it; `age` seconds old."""
    folder = root / "releases" / release
    folder.mkdir()
    (folder / ".complete").write_text(f"{release}\n")
    if age:
        then = time.time() - age
        os.utime(folder, (then, then))


def activate(run_module, root, release: str, check_mode=False, diff=False, **options):
    args = {
        "root": str(root), "release": release,
        "files": [{"path": str(root / "shared" / "gunicorn.conf.py"), "content": f"# for {release}\nworkers = 2\n"}],
        "secret_files": [{"path": str(root / "shared" / "config.json"), "mode": "0640",
                          "content": json.dumps({"release": release, "password": SECRET})}],
        "keep": 2, "record": {"name": "shop", "release": release},
        "record_path": str(root / "facts.d" / "phoenix_app.fact"),
    }
    return run_module("release_activate", {**args, **options}, check_mode=check_mode, diff=diff)


def record(root) -> dict:
    return json.loads((root / "facts.d" / "phoenix_app.fact").read_text())


def test_a_release_is_made_current_with_its_settings_and_recorded(run_module, root):
    install(root, "v1.0.0")
    result = activate(run_module, root, "v1.0.0")

    assert result["changed"] and result["switched"] and result["recorded"], result
    assert os.readlink(root / "current") == str(root / "releases" / "v1.0.0")
    assert (root / "shared" / "gunicorn.conf.py").read_text() == "# for v1.0.0\nworkers = 2\n"
    assert oct((root / "shared" / "config.json").stat().st_mode & 0o7777) == "0o640"
    assert sorted(result["written"]) == sorted([str(root / "shared" / "gunicorn.conf.py"), str(root / "shared" / "config.json")])
    assert record(root) == {"name": "shop", "release": "v1.0.0", "previous": "", "protected_releases": []}

    again = activate(run_module, root, "v1.0.0")
    assert again["changed"] is False and again["written"] == [] and not again["switched"], again


def test_the_next_release_names_the_previous_and_writes_only_what_differs(run_module, root):
    install(root, "v1.0.0")
    activate(run_module, root, "v1.0.0")
    install(root, "v1.1.0")
    same_settings = activate(run_module, root, "v1.1.0", files=[])

    assert same_settings["switched"] and same_settings["previous"] == "v1.0.0", same_settings
    assert same_settings["written"] == [str(root / "shared" / "config.json")], same_settings
    assert os.readlink(root / "current") == str(root / "releases" / "v1.1.0")
    assert record(root)["previous"] == "v1.0.0"
    # Made current again, the release keeps the previous one it recorded.
    assert activate(run_module, root, "v1.1.0", files=[])["previous"] == "v1.0.0"


def test_old_releases_go_but_the_previous_and_the_protected_stay(run_module, root):
    for age, release in ((400, "v0.8.0"), (300, "v0.9.0"), (200, "v1.0.0"), (100, "v1.1.0")):
        install(root, release, age)
    activate(run_module, root, "v0.8.0", keep=10)  # the previous release is the oldest
    install(root, "v1.2.0")
    result = activate(run_module, root, "v1.2.0", keep=1, protected=["v1.0.0", "v0.1.0"])

    assert sorted(result["removed"]) == ["v0.9.0", "v1.1.0"], result
    assert sorted(os.listdir(root / "releases")) == ["v0.8.0", "v1.0.0", "v1.2.0"]
    assert record(root)["protected_releases"] == ["v1.0.0"]


def test_a_release_that_is_not_complete_changes_nothing(run_module, root):
    install(root, "v1.0.0")
    activate(run_module, root, "v1.0.0")
    (root / "releases" / "v1.1.0").mkdir()  # half-installed: no .complete
    before = (root / "shared" / "config.json").read_text()
    result = activate(run_module, root, "v1.1.0")

    assert result["failed"] and "v1.1.0 is not installed in" in result["msg"], result
    assert os.readlink(root / "current") == str(root / "releases" / "v1.0.0")
    assert (root / "shared" / "config.json").read_text() == before


@pytest.mark.parametrize("broken, says", [
    ({"keep": 0}, "keep must be at least 1, got 0"),
    ({"files": [{"path": "/nowhere/at/all.conf", "content": "x"}]}, "/nowhere/at/all.conf: its folder does not exist"),
    ({"secret_files": [{"path": "/tmp/x.json", "content": '{"password": "long enough"}', "group": "no-such-group"}]}, "group 'no-such-group' does not exist"),
    ({"files": [{"path": "/tmp/x.conf", "content": "x", "mode": "rw-r"}]}, "mode 'rw-r' is not an octal number"),
])
def test_bad_input_is_refused_before_anything_changes(run_module, root, broken, says):
    install(root, "v1.0.0")
    result = activate(run_module, root, "v1.0.0", **broken)

    assert result["failed"] and says in result["msg"], result
    assert not os.path.lexists(root / "current") and not (root / "shared" / "gunicorn.conf.py").exists()


def test_a_folder_where_the_link_goes_is_refused(run_module, root):
    install(root, "v1.0.0")
    (root / "current").mkdir()
    result = activate(run_module, root, "v1.0.0")
    assert result["failed"] and f"{root}/current is not a link" in result["msg"], result


def test_check_mode_reports_and_changes_nothing(run_module, root):
    install(root, "v1.0.0", 300)
    install(root, "v1.1.0", 200)
    activate(run_module, root, "v1.0.0")
    result = activate(run_module, root, "v1.2.0", check_mode=True, keep=1)  # not installed yet: taken as installed

    assert result["changed"] and result["switched"] and result["removed"] == [], result
    assert os.readlink(root / "current") == str(root / "releases" / "v1.0.0")
    assert record(root)["release"] == "v1.0.0" and "v1.2.0" not in (root / "shared" / "config.json").read_text()
    assert sorted(os.listdir(root / "releases")) == ["v1.0.0", "v1.1.0"]


def test_the_diff_shows_settings_but_never_a_secret(run_module, root):
    install(root, "v1.0.0")
    result = activate(run_module, root, "v1.0.0", diff=True)

    assert [d["after_header"] for d in result["diff"]] == [str(root / "shared" / "gunicorn.conf.py")], result
    assert result["diff"][0]["after"] == "# for v1.0.0\nworkers = 2\n"
    assert SECRET not in json.dumps(result)
