"""Fixtures of the memcheck tests (make test-valgrind): the integration
harness's own, so the worker runs against the same real PostgreSQL and
search node as in tests/integration.

That harness is tests/integration/conftest.py; it is loaded here under
another module name (this file is the "conftest" of tests/valgrind) and its
fixtures re-exported: pg, es, catalog, bin_dir.  See its docstring.
"""
import importlib.util
import pathlib
import sys

INTEGRATION = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEGRATION))  # etlproc, expected_docs


def _load_harness():
    """tests/integration/conftest.py as the module integration_harness."""
    spec = importlib.util.spec_from_file_location("integration_harness",
                                                  INTEGRATION / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_harness = _load_harness()
pg = _harness.pg
es = _harness.es
catalog = _harness.catalog
bin_dir = _harness.bin_dir
