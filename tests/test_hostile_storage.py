"""Issue 16, item 7: a damaged warehouse, a read-only folder and a full disk, through the real CLI.

Each case runs ``python -m cadence`` in a real process against a real DuckDB file and asserts one
line on stderr (besides progress lines), no traceback, the exit code PRODUCT.md gives, and what the
file holds afterwards:

- damaged (truncated, or blocks overwritten): exit 1, the line names the file and what to do, and
  the file's bytes are unchanged (cadence did not write to it, not even a checkpoint);
- a read-only folder: exit 1 with a line that says so (the write-wanted marker's cleanup does not
  hide it); a warehouse already there can still be read;
- a full disk: exit 2 once pages were saved, "disk full" and what was saved; the file opens, holds
  exactly that, and a re-run with space resumes to the same tables as a clean sync.

A full disk is made two ways: a 1.5 MB tmpfs in a private mount namespace (``unshare``; the real
ENOSPC), and a file-size limit (RLIMIT_FSIZE; EFBIG), which needs no privilege. A read-only folder
is a read-only bind mount when running as root (root ignores permissions), else ``chmod 555``.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from faults import differences, digest
from jira_payloads import synthetic
from jira_server import FakeJira

ENV = {"JIRA_EMAIL": "disk@example.com", "JIRA_API_TOKEN": "disk-token-2718"}


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA_", "GITHUB_", "CADENCE_"))}
    return {**env, **ENV}


def cadence(*args: str, cwd: Path, wrap: list[str] | None = None, preexec=None) -> subprocess.CompletedProcess:
    return subprocess.run([*(wrap or []), sys.executable, "-m", "cadence", *args], capture_output=True, text=True,
                          cwd=cwd, env=_env(), timeout=300, preexec_fn=preexec)


def message(result: subprocess.CompletedProcess) -> str:
    """The one line besides progress lines; fails when there are more, or a traceback."""
    lines = [l for l in result.stderr.strip().splitlines() if " INFO cadence.progress: " not in l]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr
    return lines[0]


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def jira():
    with FakeJira(synthetic(300, histories=10, seed=1), email=ENV["JIRA_EMAIL"], token=ENV["JIRA_API_TOKEN"]) as server:
        yield server


@pytest.fixture(scope="module")
def synced(jira, tmp_path_factory) -> Path:
    """A clean, complete sync of the 300 issues (the oracle for the tables a resumed sync must reach)."""
    db = tmp_path_factory.mktemp("clean") / "clean.duckdb"
    result = cadence("sync", "jira", "--url", jira.url, "--project", "BEN", "--db", str(db), cwd=db.parent)
    assert result.returncode == 0, result.stderr
    with duckdb.connect(str(db)) as con:
        con.execute("CHECKPOINT")  # one self-contained file, to damage
    return db


def _damage(clean: Path, how: str, target: Path) -> Path:
    data = bytearray(clean.read_bytes())
    if how == "truncated":
        data = data[: len(data) * 3 // 10]
    else:  # blocks overwritten just after the headers, where the catalog and the first data live
        data[12288:12288 + 60000] = bytes(range(256)) * 234 + bytes(96)
    target.write_bytes(bytes(data))
    return target


@pytest.mark.parametrize("how", ["truncated", "overwritten"])
@pytest.mark.parametrize("command", ["metrics", "report", "sync"])
def test_a_damaged_warehouse_is_one_line_and_never_written_to(how, command, synced, jira, tmp_path):
    db = _damage(synced, how, tmp_path / "damaged.duckdb")
    before = md5(db)
    args = {"metrics": ["metrics"], "report": ["report", "--out", str(tmp_path / "r")],
            "sync": ["sync", "jira", "--url", jira.url, "--project", "BEN", "--full"]}[command]
    result = cadence(*args, "--db", str(db), cwd=tmp_path)
    assert result.returncode == 1
    line = message(result)
    assert line.startswith(f"cadence: {db} is damaged (") and "cadence has not written to it" in line
    assert "Restore it from a backup, or move it" in line
    assert md5(db) == before and not Path(f"{db}.wal").exists()


# -- a read-only folder ------------------------------------------------------------------------------
def _can_unshare() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


def _read_only(folder: Path) -> tuple[list[str] | None, str | None]:
    """A way to run a command with ``folder`` read-only, or (None, why not)."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        return [], None
    if not _can_unshare():
        return None, "running as root (which ignores permissions) and unshare cannot make a private mount"
    script = f'mount --bind "{folder}" "{folder}" && mount -o remount,ro,bind "{folder}" && exec "$@"'
    return ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"], None


@pytest.mark.parametrize("existing", [False, True], ids=["new warehouse", "existing warehouse"])
def test_a_read_only_folder_is_one_line(existing, synced, jira, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    if existing:
        shutil.copy(synced, folder / "w.duckdb")
    wrap, why = _read_only(folder)
    if wrap is None:
        pytest.skip(why)
    try:
        result = cadence("sync", "jira", "--url", jira.url, "--project", "BEN", "--db", str(folder / "w.duckdb"),
                         cwd=tmp_path, wrap=wrap)
        assert result.returncode == 1
        line = message(result)
        assert line.startswith(f"cadence: cannot write {folder / 'w.duckdb'}") and "read-only" in line
        if existing:  # what is there can still be read
            metrics = cadence("metrics", "--db", str(folder / "w.duckdb"), "--format", "csv", cwd=tmp_path, wrap=wrap)
            assert metrics.returncode == 0 and metrics.stdout.count("\n") > 1, metrics.stderr
    finally:
        folder.chmod(0o755)
    assert not (folder / "w.duckdb.write-wanted").exists()


# -- a full disk ----------------------------------------------------------------------------------------
LIMIT = 1_500_000  # bytes: the schema, the site and a few pages of the 300 issues, not all of them


def _file_size_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _full(how: str, jira, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    """Run the sync until the disk is full; return its result and a copy of what it left behind."""
    kept = tmp_path / "kept"
    kept.mkdir()
    args = ["sync", "jira", "--url", jira.url, "--project", "BEN"]
    if how == "file size limit":
        db = kept / "w.duckdb"
        return cadence(*args, "--db", str(db), cwd=tmp_path, preexec=_file_size_limit), db
    if not _can_unshare():
        pytest.skip("unshare cannot make a private mount namespace here, so no small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    # The tmpfs lives only in the private namespace: copy out what the sync left before it ends.
    script = (f'mount -t tmpfs -o size={LIMIT} tmpfs "{disk}" && "$@" --db "{disk}/w.duckdb"; code=$?; '
              f'cp "{disk}"/w.duckdb* "{kept}"/; exit $code')
    wrap = ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh"]
    return cadence(*args, cwd=tmp_path, wrap=wrap), kept / "w.duckdb"


@pytest.mark.parametrize("how", ["tmpfs", "file size limit"])
def test_a_full_disk_is_a_partial_sync_that_resumes(how, jira, synced, tmp_path):
    result, db = _full(how, jira, tmp_path)
    assert result.returncode == 2
    line = message(result)
    assert line.startswith("cadence: disk full: cannot write") and "free some space, then re-run to resume" in line
    assert ("No space left on device" if how == "tmpfs" else "File too large") in line
    with duckdb.connect(str(db), read_only=True) as con:
        items = con.execute("SELECT count(*) FROM items").fetchone()[0]
        raws = con.execute("SELECT count(*) FROM raw WHERE entity = 'issue'").fetchone()[0]
    assert 0 < items < 300 and raws == items  # whole pages only, each with its raw payloads
    assert f"{items} items" in line  # the line says what was saved
    # With space again, the same command resumes and ends with the tables of a clean sync.
    resumed = cadence("sync", "jira", "--url", jira.url, "--project", "BEN", "--db", str(db), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert differences(digest(db), digest(synced)) == {}
