"""Fixtures of the memcheck tests (make test-valgrind): the integration
harness's own, so the worker runs against the same real PostgreSQL and
search node as in tests/integration.

That harness is tests/integration/conftest.py; it is loaded here under
another module name (this file is the "conftest" of tests/valgrind) and its
fixtures re-exported: pg, es, catalog, bin_dir.  See its docstring.
"""
import pathlib
import sys

INTEGRATION = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))  # etlproc, expected_docs

from etlproc import integration_harness  # noqa: E402 (after the path)

_harness = integration_harness()
pg = _harness.pg
es = _harness.es
catalog = _harness.catalog
bin_dir = _harness.bin_dir
