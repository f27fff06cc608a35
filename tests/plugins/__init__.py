"""Plug-ins as a contributor writes them: each one module, registered by one line
(tests/test_plugins.py registers them for the test's duration)."""
