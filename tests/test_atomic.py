"""Atomic writes: strict JSON, and a no-replace mode that refuses an existing file."""

import json
import math
import os

import pytest

from figure_ml import atomic


def test_write_json_is_strict(tmp_path):
    target = tmp_path / "a.json"
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="JSON compliant"):
            atomic.write_json(target, {"x": [1, bad]})
        assert not target.exists()  # refused before anything was written
    atomic.write_json(target, {"x": 0.5})
    assert target.read_text() == '{\n  "x": 0.5\n}\n'
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_no_replace_refuses_an_existing_file(tmp_path):
    target = tmp_path / "user.jpg"
    target.write_bytes(b"mine")
    with pytest.raises(FileExistsError):
        atomic.write_bytes(target, b"new", overwrite=False)
    assert target.read_bytes() == b"mine"
    os.symlink(tmp_path / "nowhere", tmp_path / "dangling.jpg")  # even a dangling link
    with pytest.raises(FileExistsError):
        atomic.write_bytes(tmp_path / "dangling.jpg", b"new", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dangling.jpg", "user.jpg"]
    atomic.write_bytes(tmp_path / "fresh.jpg", b"new", overwrite=False)
    assert (tmp_path / "fresh.jpg").read_bytes() == b"new"
    atomic.write_bytes(target, b"replaced")  # the default still replaces
    assert target.read_bytes() == b"replaced"
    assert json.loads(atomic.dumps_json([1])) == [1]


def test_files_and_folders_get_the_mode_the_umask_gives(tmp_path):
    # mkstemp/mkdtemp are private (0600/0700): a rename kept that, so an export written by one
    # account could not be read by the account that runs the redactor
    old = os.umask(0o022)
    try:
        assert atomic._umask() == 0o022  # read without changing it
        f = atomic.write_bytes(tmp_path / "manifest.json", b"{}")
        with atomic.staging_dir(tmp_path / "export") as d:
            (d / "x").write_bytes(b"")
        # photos stay their owner's whatever the umask: datasets, sheets, redacted outputs
        p = atomic.write_bytes(tmp_path / "sheet.png", b"", private=True)
        with atomic.staging_dir(tmp_path / "dataset", private=True) as d:
            (d / "x").write_bytes(b"")
        os.umask(0o077)  # a private umask stays private
        g = atomic.write_json(tmp_path / "private.json", {})
    finally:
        os.umask(old)
    assert f.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "export").stat().st_mode & 0o777 == 0o755
    assert p.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "dataset").stat().st_mode & 0o777 == 0o700
    assert g.stat().st_mode & 0o777 == 0o600
