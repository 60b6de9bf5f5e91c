"""kill -9 in the middle of a real Dask build, then the same command again: complete and identical."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from sadpnet.data.build import build_dataset
from sadpnet.data.store import done_chunks, open_images, read_meta, read_table, verify_store

QUICK = Path(__file__).resolve().parents[2] / "specs" / "quick.yaml"


@pytest.mark.slow
def test_kill_9_mid_build_then_resume_is_complete_and_identical(tmp_path):
    spec = yaml.safe_load(QUICK.read_text())
    spec["augment"]["rotations_per_pattern"] = 4  # 96 patterns in 48 chunks of 2
    spec["storage"]["chunk_patterns"] = 2
    spec_path = tmp_path / "resume.yaml"
    spec_path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "sadpnet", "dataset", "build", str(spec_path), "-o", str(out), "--workers", "2",
           "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # its own session: the kill reaches the build and its Dask worker processes at once
    proc = subprocess.Popen(cmd, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "progress").is_dir() and len(done_chunks(out)) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the build ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    n_chunks = read_meta(out)["n_chunks"]
    killed_at = len(done_chunks(out))
    assert 3 <= killed_at < n_chunks and not (out / "card.json").exists()
    assert verify_store(out) == []  # what is marked done is intact
    # the same command again (in this process, to keep the test short) completes the store
    card = build_dataset(spec_path, out, workers=0, progress=False)
    assert card["n_patterns"] == 96 and len(done_chunks(out)) == n_chunks
    ref = tmp_path / "uninterrupted"
    build_dataset(spec_path, ref, workers=0, progress=False)
    assert np.array_equal(open_images(out)[:], open_images(ref)[:])
    assert read_table(out).equals(read_table(ref))
    assert verify_store(out) == []
