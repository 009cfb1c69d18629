"""A hot standby (docs/architecture.md, "Standbys"), with a real one: a
pg_basebackup -R of the session's cluster, streaming from it.

The snapshot method is not exact there.  On a hot standby PostgreSQL keeps
the transactions in progress on the primary apart (its snapshot's subxip,
from the WAL), and pg_current_snapshot() copies only the list a primary
fills (xip): a transaction still open on the primary shows as committed in
the standby's pg_current_snapshot() while the standby's queries do not see
its rows.  A window ending there would pass it, and its change, read by no
window after its commit, would be lost.  So the worker refuses a standby
(content.etl_preflight(), exit 78), saying why.

If a later PostgreSQL lists them, the first test fails: the question is
then to be asked again (a worker reading a standby also needs no write:
position reports and pruning are the primary's)."""
from etlproc import make_config, run_worker, sql, wait_until

# The worker's exit status for a server it cannot read (EXIT_CONFIG).
EXIT_CONFIG = 78


def replayed(primary, standby, dbname):
    """Waits until the standby has replayed the primary's WAL as of now."""
    ((lsn,),) = primary._admin("SELECT pg_current_wal_lsn()::text")
    wait_until(lambda: standby._admin("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,),
                                      dbname=dbname)[0][0],
               timeout=30, what="the standby to replay the primary's WAL")


def test_a_standby_is_refused_for_its_snapshots(tmp_path, pg, es, catalog, app, bin_dir,
                                                new_cluster):
    """Why (a transaction open on the primary, committed in the standby's
    pg_current_snapshot(), in progress to its queries), then the refusal."""
    standby = new_cluster(standby_of=pg)
    mine, theirs = [r[0] for r in sql(app, "SELECT id::text FROM content.film_work"
                                           " ORDER BY id LIMIT 2")]
    writer = pg.connect("app", catalog, autocommit=False)
    try:
        sql(writer, "UPDATE content.film_work SET title = 'Open on the primary' WHERE id = %s",
            (mine,))
        ((xid,),) = sql(writer, "SELECT pg_current_xact_id()::text")
        # Another commit after it: the snapshots' xmax passes its id.
        sql(app, "UPDATE content.film_work SET title = 'Committed after' WHERE id = %s", (theirs,))
        ((in_progress,),) = sql(app, "SELECT %s::xid8 IN (SELECT pg_snapshot_xip("
                                     "pg_current_snapshot()))", (xid,))
        assert in_progress, "the primary lists the open transaction"
        replayed(pg, standby, catalog)
        ((visible, title, other),) = standby._admin(
            "SELECT pg_visible_in_snapshot(%s::xid8, pg_current_snapshot()),"
            "       (SELECT title FROM content.film_work WHERE id = %s),"
            "       (SELECT title FROM content.film_work WHERE id = %s)",
            (xid, mine, theirs), dbname=catalog)
        assert other == "Committed after"
        assert title != "Open on the primary", "the standby's queries see it in progress"
        assert visible, "the standby's pg_current_snapshot() shows it committed"
    finally:
        writer.rollback()
        writer.close()

    config, _ = make_config(tmp_path, standby, es, catalog)
    worker = run_worker(bin_dir, config)
    try:
        assert worker.wait(timeout=60) == EXIT_CONFIG
        (refusal,) = worker.events("cannot read from this server; not starting")
        assert "standby" in refusal["reason"]
        assert "pg_current_snapshot() lists no transaction in progress" in refusal["reason"]
    finally:
        worker.stop()
