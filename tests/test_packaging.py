"""Reproducible packaging: same sources -> byte-identical zip and hash; a change -> a new hash."""

from __future__ import annotations

import shutil
import zipfile

from sfn_ml_pipeline.packaging import SCRIPTS_DIR, package_scripts

from .conftest import assert_clean_error


def test_same_sources_give_identical_bytes(tmp_path):
    first = package_scripts(tmp_path / "a")["generate_dataset.zip"]
    second = package_scripts(tmp_path / "b")["generate_dataset.zip"]
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256_hex == second.sha256_hex


def test_zip_holds_the_handler_with_fixed_metadata(tmp_path):
    artifact = package_scripts(tmp_path)["generate_dataset.zip"]
    with zipfile.ZipFile(artifact.path) as archive:
        (info,) = archive.infolist()
        assert info.filename == "generate_dataset.py"
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert archive.read(info) == (SCRIPTS_DIR / "generate_dataset.py").read_bytes()


def test_mtime_does_not_matter_but_content_does(tmp_path):
    scripts = tmp_path / "scripts"
    shutil.copytree(SCRIPTS_DIR, scripts)
    before = package_scripts(tmp_path / "one", scripts)
    (scripts / "generate_dataset.py").touch()
    assert package_scripts(tmp_path / "two", scripts)["generate_dataset.zip"].sha256_hex == before["generate_dataset.zip"].sha256_hex
    with (scripts / "generate_dataset.py").open("a") as handle:
        handle.write("\n# changed\n")
    assert package_scripts(tmp_path / "three", scripts)["generate_dataset.zip"].sha256_hex != before["generate_dataset.zip"].sha256_hex


def test_package_command_prints_hashes_and_is_stable(cli, tmp_path):
    first = cli("package", "--build-dir", str(tmp_path / "x"))
    second = cli("package", "--build-dir", str(tmp_path / "x"))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    # the Lambda zip, transform.py and evaluate.py ([quality_gate]'s Evaluate model job)
    assert [line.rsplit("/", 1)[-1] for line in first.stdout.splitlines()] == ["generate_dataset.zip", "transform.py", "evaluate.py"]


def test_package_missing_scripts_is_exit_2(cli, tmp_path):
    result = cli("package", "--scripts-dir", str(tmp_path), "--build-dir", str(tmp_path / "b"))
    line = assert_clean_error(result, "--scripts-dir")
    assert line.startswith(f"error: script not found: {tmp_path / 'generate_dataset.py'}")
