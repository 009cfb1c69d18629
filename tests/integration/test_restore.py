"""Restores and failovers (docs/architecture.md, "Restores and failovers"),
replayed with real clusters: the state file records the cluster's system
identifier and timeline beside the snapshots it read, and a database that
is not the one those snapshots are of makes the worker say why and rebuild
its index behind the alias, search answering throughout:

(a) a pg_dump of the catalogue restored into a new cluster (initdb) on the
    same port: another system identifier;
(b) a base backup restored to an earlier point (archive recovery to the
    backup's end, promoted): a new timeline, the changes after the backup
    gone from PostgreSQL and so from the index.

In both, the restored database's ids have moved past the ones the state
file read before the worker comes back (a database in use meanwhile), so
the ids alone do not tell: the worker before the identifier and timeline
were recorded resumed from its cursor and kept what the database no longer
has.  And a state file written before them is taken over without a rebuild,
the cluster filled in.

Each test makes clusters of its own (new_cluster): they are stopped and
replaced, which the session's cannot be."""
import json

from etlproc import document, make_config, sql, start_worker, wait_caught_up, wait_until
from expected_docs import assert_index_matches

# How long a change or a rebuild of the sample may take.
ARRIVES_S = 30
REBUILD_S = 180
BEHIND = "database is behind the state file (restored or failed over?)"
RESTAMPED = "rows stamped by another cluster's transactions restamped (a dump restored?)"


def read_state(tmp_path):
    return json.loads((tmp_path / "state" / "movies.state").read_text())


def read_up_to(tmp_path):
    """The greatest transaction id bound of the saved window: an id at or
    past it is one the worker has not read."""
    window = read_state(tmp_path)["window"]
    return max(int(snapshot.split(":")[1]) for snapshot in window.values())


def cluster_of(pg):
    """What the state file must record of pg, read here from PostgreSQL
    itself: its system identifier, and the timeline it writes WAL on (the
    first 8 hex digits of a WAL file's name)."""
    ((system_identifier, walfile),) = pg._admin(
        "SELECT system_identifier::text, pg_walfile_name(pg_current_wal_lsn())"
        "  FROM pg_control_system()")
    return {"system_identifier": system_identifier, "timeline": int(walfile[:8], 16)}


def edit(pg, title):
    """Gives one film the title and deletes another; returns their ids."""
    conn = pg.connect("app")
    try:
        edited, gone = [r[0] for r in sql(conn, "SELECT id::text FROM content.film_work"
                                                " ORDER BY id LIMIT 2")]
        sql(conn, "UPDATE content.film_work SET title = %s WHERE id = %s", (title, edited))
        sql(conn, "DELETE FROM content.film_work WHERE id = %s", (gone,))
    finally:
        conn.close()
    return edited, gone


def title(es, index, fid):
    es.refresh(index)
    doc = document(es, index, fid)
    return doc["title"] if doc is not None else None


def answered_until_caught_up(es, index, worker):
    """Waits until the worker has caught up (after a rebuild: once the alias
    has moved), counting the documents search answers meanwhile (a count
    of a missing index raises); returns the counts."""
    counts = []

    def caught_up():
        counts.append(es.count(index))
        return worker.events("caught up")

    wait_until(caught_up, timeout=REBUILD_S, interval=0.1, what="the worker to catch up")
    return counts


def assert_index_is_the_database(pg, es, index):
    conn = pg.connect("app")
    try:
        assert_index_matches(conn, "movies", es, index)
    finally:
        conn.close()


def test_a_dump_restored_into_a_new_cluster_is_rebuilt(tmp_path, es, bin_dir, workers,
                                                       new_cluster):
    """(a) While the ETL is off the database goes on (its ids far past what
    the state file read), a film is edited and another deleted, and the
    catalogue is dumped and restored into a new cluster taking the old
    one's port.  The dump carries the old cluster's stamps, ahead of the
    new counter: restamped on connecting, or no full load would see those
    rows."""
    old = new_cluster()
    config, names = make_config(tmp_path, old, es, old.dbname)
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=REBUILD_S, what="the first load")
    worker.stop()
    before = read_up_to(tmp_path)
    saved = cluster_of(old)
    old.burn_xids(before + 2000)
    edited, gone = edit(old, "Edited before the dump")
    dump = tmp_path / "movies.dump"
    old.dump(dump)

    new = new_cluster(sample=False, passwords=old.passwords)
    new.restore_dump(dump)
    new.burn_xids(before)  # in use meanwhile: its ids past the state file's
    old.stop()
    new.stop()
    new.start(port=old.port)
    found = cluster_of(new)
    assert found["system_identifier"] != saved["system_identifier"]

    total = es.count(index)
    worker = start_worker(workers, bin_dir, config)
    counts = answered_until_caught_up(es, index, worker)
    assert_index_is_the_database(new, es, index)
    assert title(es, index, edited) == "Edited before the dump"
    assert document(es, index, gone) is None
    assert set(counts) <= {total, total - 1}, "search lost documents during the rebuild"
    (behind,) = worker.events(BEHIND)
    assert behind["reason"] == "another cluster: its system identifier differs"
    assert behind["saved_system_identifier"] == saved["system_identifier"]
    assert behind["found_system_identifier"] == found["system_identifier"]
    assert [e["reason"] for e in worker.events("rebuild started")] == ["database_behind"]
    (restamped,) = worker.events(RESTAMPED)
    assert int(restamped["rows"]) >= 2  # the edited film and the deletion's event
    assert read_state(tmp_path)["cluster"] == found


def test_a_base_backup_restored_to_an_earlier_point_is_rebuilt(tmp_path, es, bin_dir, workers,
                                                               new_cluster):
    """(b) A base backup, then changes the worker syncs (a film retitled,
    another deleted), then the cluster restored from the backup to its end
    and promoted: timeline 2, the changes gone.  The index must lose them
    too."""
    pg = new_cluster()
    config, names = make_config(tmp_path, pg, es, pg.dbname)
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=REBUILD_S, what="the first load")
    backup = pg.base_backup(pg.base / "backup" / "data")
    edited, gone = edit(pg, "Lost with the restore")
    wait_until(lambda: title(es, index, edited) == "Lost with the restore"
               and document(es, index, gone) is None, timeout=ARRIVES_S,
               what="the changes after the backup in the index")
    worker.stop()
    before = read_up_to(tmp_path)
    saved = cluster_of(pg)

    pg.restore_base_backup(backup, recovery_target="immediate", recovery_target_action="promote")
    pg.burn_xids(before)  # in use meanwhile: its ids past the state file's
    found = cluster_of(pg)
    assert found == {**saved, "timeline": saved["timeline"] + 1}

    total = es.count(index)
    worker = start_worker(workers, bin_dir, config)
    counts = answered_until_caught_up(es, index, worker)
    assert_index_is_the_database(pg, es, index)
    assert title(es, index, edited) != "Lost with the restore"
    assert document(es, index, gone) is not None
    assert set(counts) <= {total, total + 1}, "search lost documents during the rebuild"
    (behind,) = worker.events(BEHIND)
    assert behind["reason"] == "a timeline switch"
    assert (behind["saved_timeline"], behind["found_timeline"]) == (
        str(saved["timeline"]), str(found["timeline"]))
    assert [e["reason"] for e in worker.events("rebuild started")] == ["database_behind"]
    assert read_state(tmp_path)["cluster"] == found


def test_a_state_file_without_the_cluster_is_filled_in_without_a_rebuild(
        tmp_path, pg, es, catalog, app, bin_dir, workers):
    """A state file of the release before the cluster was recorded is read
    as it is; the cluster is filled in and saved with the next save, and
    nothing is rebuilt."""
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=REBUILD_S, what="the first load")
    worker.stop()
    state = read_state(tmp_path)
    expected = cluster_of(pg)
    assert state.pop("cluster") == expected
    (tmp_path / "state" / "movies.state").write_text(json.dumps(state))
    worker = start_worker(workers, bin_dir, config)
    (fid,) = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT 1")]
    sql(app, "UPDATE content.film_work SET title = 'Edited after the upgrade' WHERE id = %s",
        (fid,))
    wait_until(lambda: title(es, index, fid) == "Edited after the upgrade", timeout=ARRIVES_S,
               what="the change")
    wait_until(lambda: read_state(tmp_path).get("cluster") == expected, timeout=ARRIVES_S,
               what="the cluster saved")
    assert len(worker.events("cluster recorded in the state file")) == 1
    assert not worker.events(BEHIND) and not worker.events("rebuild started")
