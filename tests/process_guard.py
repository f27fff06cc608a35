"""A pytest plug-in (loaded by conftest): no child process outlives the test that started it.

A failed assertion can skip a test's own clean-up; a non-daemon `multiprocessing` child left
blocked on a queue then keeps pytest from exiting at all (multiprocessing joins such children
at interpreter exit), and a suite that never ends is a CI run past its limit. After every test,
children still running are terminated, then killed."""

import multiprocessing

import pytest


@pytest.fixture(autouse=True)
def end_leftover_children():
    yield
    for child in multiprocessing.active_children():
        child.terminate()
        child.join(10)
        if child.is_alive():
            child.kill()
            child.join(10)
