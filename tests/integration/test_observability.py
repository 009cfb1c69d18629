"""What operators see, apart from the logs: the workers' status channel
(etlctl status at any log_level), the Prometheus metrics and the watchdog
that kills a worker which stopped reporting.  Real supervisor, workers,
PostgreSQL and search node."""
import json

from etlproc import wait_until
from test_supervisor import Stack


def status_json(sup, name):
    """The --json status object of worker name."""
    result = sup.ctl("status", "--json")
    assert result.returncode == 0, result.stderr
    return {w["name"]: w for w in json.loads(result.stdout)["workers"]}[name]


def test_status_does_not_depend_on_the_log_level(tmp_path, pg, es, catalog, bin_dir):
    """With log_level = error the workers log no batch and no "caught up":
    status still shows batches, documents, cursor and lag, from the status
    channel."""
    stack = Stack(tmp_path, pg, es, catalog, bin_dir, indices=["genres"],
                  overrides={("etl", "log_level"): "error"})
    try:
        sup = stack.sup
        w = wait_until(lambda: (lambda s: s if s["lag_s"] == 0 else None)(status_json(sup, "genres")),
                       timeout=120, what="genres caught up in status")
        assert w["state"] == "running"
        assert w["batches"] >= 1 and w["docs_sent"] == 26
        assert w["cursor_modified"] and w["cursor_id"]
        assert w["last_batch"].endswith("Z")
        assert not sup.events("batch") and not sup.events("caught up")  # nothing logged
        # A change: one more batch, its lag reported, then caught up again.
        before = w["batches"]
        stack.sql("UPDATE content.genre SET description = 'seen at error level' "
                  "WHERE id = (SELECT id FROM content.genre ORDER BY id LIMIT 1)")
        w = wait_until(lambda: (lambda s: s if s["batches"] > before and s["lag_s"] == 0 else None)(
            status_json(sup, "genres")), timeout=60, what="the change's batch in status")
        assert w["docs_sent"] >= 27
    finally:
        stack.close()
