"""Fixtures of the package tests (make test-package): the built .deb, its
files unpacked, and the integration harness's PostgreSQL and search node
(tests/integration/conftest.py, loaded by etlproc.integration_harness),
which the package installed in a container syncs from and to.
"""
import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT / "tests" / "integration"))  # etlproc, test_supervisor

from etlproc import integration_harness  # noqa: E402 (after the path)

_harness = integration_harness()
pg = _harness.pg
es = _harness.es
catalog = _harness.catalog

# Where make deb leaves the package (make test-package sets it).
DEB_DIR = pathlib.Path(os.environ.get("ETL_DEB_DIR") or REPO_ROOT / "build" / "deb")


@pytest.fixture(scope="session")
def deb():
    """The one etl_*.deb make deb built (not the -dbgsym one)."""
    debs = [p for p in DEB_DIR.glob("etl_*.deb")]
    assert len(debs) == 1, f"expected one etl_*.deb in {DEB_DIR} (run make deb): {debs}"
    return debs[0]


@pytest.fixture(scope="session")
def unpacked(deb, tmp_path_factory):
    """The package's files, unpacked (dpkg-deb -x) into a folder."""
    root = tmp_path_factory.mktemp("deb-root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root
