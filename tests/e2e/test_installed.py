"""The installed tool is the same tool: the wheel, in a fresh environment outside the checkout,
run from another directory, syncs and migrates as the checkout does, with the built-in mappings.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from sync.registry import PLATFORMS

from .conftest import (
    CASES,
    DUB_KEY,
    ROOT,
    SAMPLES,
    Run,
    cli_env,
    read_report,
    statuses,
)

UV = shutil.which("uv")
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed: cannot build the wheel")


def _uv(*args: str, cwd: Path) -> None:
    """Run uv from its cache first (no network needed); on a machine whose cache lacks
    something, let it fetch."""
    assert UV is not None
    for extra in (["--offline"], []):
        done = subprocess.run(
            [UV, *args, *extra], cwd=cwd, capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            return
    raise AssertionError(f"uv {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


@contextlib.contextmanager
def _made_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A folder shared by every worker of this run (pytest-xdist's too), and whether it still
    needs making: the first worker to get there makes it while the others wait, so the wheel is
    built and installed once per run, not once per worker that draws one of these tests."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder, made = shared / name, shared / f"{name}.made"
    with (shared / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield folder, not made.exists()
        made.touch()


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from the checkout as it is (with whatever runs left in samples/)."""
    with _made_once(tmp_path_factory, "wheel") as (work, needed):
        if needed:
            shutil.rmtree(work, ignore_errors=True)
            _uv("build", "--wheel", "--quiet", "--out-dir", str(work), str(ROOT), cwd=ROOT)
    (built,) = work.glob("partner_sync-*.whl")
    return built


def test_the_wheel_ships_the_seeds_the_code_reads_and_nothing_a_run_left(wheel: Path):
    """The README's first command writes its report, checkpoint and sandbox account into
    samples/; a wheel built afterwards shipped that account (and could ship a checkpoint)."""
    with zipfile.ZipFile(wheel) as archive:
        shipped = {
            name.removeprefix("sync/samples/")
            for name in archive.namelist()
            if name.startswith("sync/samples/")
        }
        mappings = {n for n in archive.namelist() if n.startswith("sync/mappings/")}
    assert shipped == {platform.sample_seed for platform in PLATFORMS.values()}
    assert mappings and all(name.endswith(".toml") for name in mappings), mappings


@pytest.fixture(scope="session")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `partner-sync` script of the wheel, installed into a fresh virtual environment."""
    with _made_once(tmp_path_factory, "installed") as (work, needed):
        python = work / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
        if needed:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            _install(wheel, work, python)
    script = python.with_name("partner-sync")
    assert script.exists()
    return script


def _install(wheel: Path, work: Path, python: Path) -> None:
    pins = work / "pins.txt"
    _uv(
        "export", "--frozen", "--no-dev", "--no-emit-project", "--no-hashes",
        "--quiet", "--output-file", str(pins),
        cwd=ROOT,
    )  # fmt: skip
    _uv("venv", "--quiet", "--python", sys.executable, str(python.parents[1]), cwd=work)
    _uv("pip", "install", "--quiet", "--python", str(python), "-c", str(pins), str(wheel), cwd=work)


def run_installed(
    script: Path, args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None
) -> Run:
    env = dict(env if env is not None else cli_env(key=None))
    # The script alone, as a user runs it: nothing of the checkout on the import path.
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{script.parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        ["partner-sync", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def run_checkout(args: Sequence[str], *, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """The same command from the checkout's environment, in `cwd`."""
    env = env if env is not None else cli_env(key=None)
    done = subprocess.run(
        [sys.executable, "-m", "sync", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def _workdir(base: Path, name: str, *samples: str) -> Path:
    folder = base / name
    folder.mkdir()
    for sample in samples:
        shutil.copy(SAMPLES / sample, folder / sample)
    return folder


def _lines(report: Path) -> list[dict[str, str]]:
    """A report without the ids the sandbox hands out, which differ between runs."""
    return [{k: v for k, v in line.items() if k != "remote_id"} for line in read_report(report)]


def test_installed_wheel_finds_its_mappings_from_another_directory(installed, tmp_path: Path):
    assert ROOT not in installed.parents
    listing = run_installed(installed, ["mappings"], cwd=tmp_path)
    assert listing.code == 0, listing.output
    names = {line.split()[0] for line in listing.stdout.splitlines()}
    assert names == {path.stem for path in (ROOT / "mappings").glob("*.toml")}
    shown = run_installed(installed, ["mappings", "show", "dub"], cwd=tmp_path)
    assert shown.stdout == (ROOT / "mappings" / "dub.toml").read_text(encoding="utf-8")
    # A header the default mapping does not know stops the run and says how to map it.
    (tmp_path / "in.csv").write_text("E-mail,Name\nann@example.com,Ann\n", encoding="utf-8")
    refused = run_installed(installed, ["sync", "in.csv", "-p", "dub"], cwd=tmp_path)
    assert refused.code == 3, refused.output
    assert "mappings show dub" in refused.stderr
    assert '[fields.email]  column = "E-mail"' in refused.stderr


def test_installed_wheel_syncs_like_the_checkout(installed, tmp_path: Path, make_sandbox):
    # Keyless, into the built-in sandbox: the same report and exit code as the checkout's.
    args = ["sync", "roster.csv", "-p", "dub", "--sandbox-seed", "dub_existing.json"]
    args += ["--rate-limit", "1200"]
    ours = _workdir(tmp_path, "installed", "roster.csv", "dub_existing.json")
    theirs = _workdir(tmp_path, "checkout", "roster.csv", "dub_existing.json")
    result = run_installed(installed, args, cwd=ours)
    expected = run_checkout(args, cwd=theirs)
    assert (result.code, expected.code) == (1, 1), result.output + expected.output
    report = ours / "roster.csv.dub.report.csv"
    assert _lines(report) == _lines(theirs / "roster.csv.dub.report.csv")
    assert statuses(report) == CASES["dub"].expected
    # Into a sandbox the test can read: the default mapping joined the names, took tenant_id.
    target = make_sandbox("dub", seed=[])
    env = cli_env(key=DUB_KEY)
    again = ["sync", "roster.csv", "-p", "dub", "--base-url", target.base_url]
    again += ["--rate-limit", "1200", "--checkpoint", "other.checkpoint"]
    assert run_installed(installed, again, cwd=ours, env=env).code == 1
    ava = next(p for p in target.partners() if p["email"] == "ava.thompson@brightlane.io")
    assert (ava["name"], ava["tenantId"], ava["country"]) == ("Ava Thompson", "crm-1001", "US")


def test_installed_wheel_migrates_like_the_checkout(installed, tmp_path: Path, make_sandbox):
    args = ["sync", "--from", "promotekit", "--provider", "dub"]
    args += ["--from-sandbox-seed", "promotekit_existing.json", "--rate-limit", "1200"]
    ours = _workdir(tmp_path, "installed", "promotekit_existing.json")
    theirs = _workdir(tmp_path, "checkout", "promotekit_existing.json")
    result = run_installed(installed, args, cwd=ours)
    expected = run_checkout(args, cwd=theirs)
    assert result.code == expected.code == 0, result.output + expected.output
    report = "promotekit-to-dub.dub.report.csv"
    assert _lines(ours / report) == _lines(theirs / report)
    assert {line["status"] for line in read_report(ours / report)} == {"created"}
    # The migration mapping carried the names and made the source's id the tenantId.
    target = make_sandbox("dub", seed=[])
    into = [*args, "--base-url", target.base_url, "--checkpoint", "other.checkpoint"]
    moved = run_installed(installed, into, cwd=ours, env=cli_env(key=DUB_KEY))
    assert moved.code == 0, moved.output
    liam = next(p for p in target.partners() if p["email"] == "liam.oconnor@peakreviews.com")
    assert liam["name"] == "Liam O'Connor"
    assert liam["tenantId"]  # the PromoteKit affiliate's id
    assert len(target.partners()) == len(read_report(ours / report))


def test_installed_wheel_migrates_from_a_keyless_source_platform(installed, tmp_path: Path):
    # Its built-in sandbox is seeded with the sample that ships inside the wheel.
    args = ["plan", "--from", "rewardful", "--provider", "dub", "--report", "plan.csv"]
    ours, theirs = _workdir(tmp_path, "installed"), _workdir(tmp_path, "checkout")
    result = run_installed(installed, args, cwd=ours)
    expected = run_checkout(args, cwd=theirs)
    assert result.code == expected.code == 0, result.output + expected.output
    assert _lines(ours / "plan.csv") == _lines(theirs / "plan.csv")
    assert len(_lines(ours / "plan.csv")) == 12  # every partner of the sample
