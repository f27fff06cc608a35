"""The suite cannot hang: a failing test that leaves a blocked child process, and a test that
hangs, each end the run well inside its limit (with the child ended and the stack printed)."""

import os
import subprocess
import sys
import textwrap
import time

from conftest import REPO

FAILING = textwrap.dedent("""
    import multiprocessing as mp
    import time

    def _wait_forever(queue):
        queue.get()  # nothing is ever put

    def test_fails_with_a_blocked_child():
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        child = ctx.Process(target=_wait_forever, args=(queue,))  # not a daemon
        child.start()
        while not child.is_alive():
            time.sleep(0.1)
        assert False, "deliberate"

    def test_hangs():
        time.sleep(3600)
""")


def test_a_failing_multiprocess_test_and_a_hung_test_end_the_run(tmp_path):
    (tmp_path / "test_deliberate.py").write_text(FAILING, encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(REPO / "tests"))
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "process_guard", "-p", "no:cacheprovider",
         "--timeout", "8", "-q", "--rootdir", str(tmp_path), "-c", os.devnull,
         str(tmp_path / "test_deliberate.py")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    took = time.monotonic() - start
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "2 failed" in out, out
    assert "Timeout" in out and "time.sleep(3600)" in out, out  # the hung test's stack
    assert took < 60, (took, out)
