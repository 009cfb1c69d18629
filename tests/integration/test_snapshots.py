"""Exact change capture by transaction snapshots (docs/architecture.md,
"Change capture by transaction snapshots"), replayed against a real
PostgreSQL and a real search node with a movies worker:

1. a read-only transaction of any length delays no change: idle in
   transaction, REPEATABLE READ, and a real pg_dump held open while films
   are edited;
2. a long writer delays only its own changes, which arrive right after its
   commit;
3. a prepared transaction needs no special case: its change arrives after
   COMMIT PREPARED, never before, and others' changes are not held back;
4. no clock: a writer whose `modified` is stamped in the past or the future
   changes nothing about what is read;
5. a logical-replication subscriber is read exactly: its apply worker
   runs as a replica, and the triggers fire for it (ENABLE ALWAYS);
8. upgrade: a state file of the release that read by clock is taken over
   by a rebuild behind the alias, without search downtime.

Each test of 1-4 fails with the clock horizon (content.etl_horizon()),
which any open transaction holds back and which trusts `modified`."""
import json
import subprocess
import uuid

import pytest

from etlproc import document, make_config, sql, start_worker, wait_caught_up, wait_until

# How long a change may take to reach the index when nothing may hold it
# back: many poll intervals (200 ms in the tests' config).
ARRIVES_S = 20
# How long the tests watch for a change that must not arrive yet.
HELD_S = 3


def title(es, index, fid):
    """The title of film fid in index, or None when it is absent."""
    es.refresh(index)
    doc = document(es, index, fid)
    return doc["title"] if doc is not None else None


def films(app, count):
    """count film ids of the catalogue."""
    return [r[0] for r in sql(app, "SELECT id::text FROM content.film_work ORDER BY id LIMIT %s",
                              (count,))]


def retitle(conn, fid, text):
    sql(conn, "UPDATE content.film_work SET title = %s WHERE id = %s", (text, fid))


def arrives(es, index, fid, text, what):
    wait_until(lambda: title(es, index, fid) == text, timeout=ARRIVES_S, what=what)


def stays_away(es, index, fid, text):
    """Asserts for HELD_S that film fid never shows text."""
    with pytest.raises(AssertionError):
        wait_until(lambda: title(es, index, fid) == text, timeout=HELD_S, what="held")


@pytest.fixture
def synced(tmp_path, pg, es, catalog, bin_dir, workers):
    """A movies worker that has done its first load; its index name."""
    config, names = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    return names["movies"]


@pytest.mark.parametrize("isolation", ["READ COMMITTED", "REPEATABLE READ"])
def test_an_idle_reader_delays_no_change(pg, es, catalog, app, synced, isolation):
    reader = pg.connect("app", catalog, autocommit=False)
    try:
        sql(reader, f"SET TRANSACTION ISOLATION LEVEL {isolation}")
        sql(reader, "SELECT count(*) FROM content.film_work")  # now idle in transaction
        (fid,) = films(app, 1)
        retitle(app, fid, "Edited under a reader")
        arrives(es, synced, fid, "Edited under a reader", "the change, the reader still open")
    finally:
        reader.rollback()
        reader.close()


def test_a_running_pg_dump_delays_no_change(pg, es, catalog, app, admin, synced):
    """pg_dump writes into a pipe nobody reads: it blocks once the pipe is
    full, its REPEATABLE READ transaction open, while films are edited."""
    dump = subprocess.Popen(["pg_dump", "--data-only", "--schema=content", "-d",
                             pg.dsn("postgres", catalog)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: sql(admin, "SELECT count(*) FROM pg_stat_activity"
                                    " WHERE application_name = 'pg_dump'"
                                    "   AND xact_start IS NOT NULL")[0][0] > 0,
                   timeout=20, what="pg_dump's transaction")
        for n, fid in enumerate(films(app, 3)):
            retitle(app, fid, f"Edited during a dump {n}")
            arrives(es, synced, fid, f"Edited during a dump {n}", "the change, pg_dump running")
        assert dump.poll() is None, "pg_dump ended before the edits were checked"
    finally:
        dump.kill()
        dump.communicate()


def test_a_long_writer_delays_only_its_own_changes(pg, es, catalog, app, synced):
    mine, theirs = films(app, 2)
    writer = pg.connect("app", catalog, autocommit=False)
    try:
        retitle(writer, mine, "Long writer")
        retitle(app, theirs, "Committed meanwhile")
        arrives(es, synced, theirs, "Committed meanwhile", "another's change, the writer open")
        stays_away(es, synced, mine, "Long writer")
        writer.commit()
        arrives(es, synced, mine, "Long writer", "the writer's change after its commit")
    finally:
        writer.rollback()
        writer.close()


def test_a_logical_replication_subscriber_is_read_exactly(pg, es, catalog, admin, synced):
    """The worker reads a database that is a logical-replication subscriber
    of another (a second catalogue database of the same cluster publishing
    content.film_work).  The subscription's apply worker runs with
    session_replication_role = replica, so only triggers enabled ALWAYS
    record its changes; and rows arrive with the publisher's `modified`,
    out of order: a publisher transaction stamped first and committed last
    is applied after a later stamp was read (the clock horizon, which sees
    only the subscriber's own transactions, passed it for good)."""
    publisher = pg.new_catalog()
    slot = "etl_test_" + uuid.uuid4().hex[:8]
    pub = pg.connect("postgres", publisher)
    slow = pg.connect("postgres", publisher, autocommit=False)
    try:
        sql(pub, "CREATE PUBLICATION etl_test FOR TABLE content.film_work")
        sql(pub, "SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        sql(admin, f"CREATE SUBSCRIPTION {slot} CONNECTION 'host={pg.dir} port={pg.port} "
                   f"dbname={publisher} user=postgres' PUBLICATION etl_test "
                   f"WITH (create_slot = false, slot_name = '{slot}', copy_data = false)")
        try:
            first, second = films(pub, 2)
            retitle(slow, first, "Stamped first, committed last")
            retitle(pub, second, "Stamped second, committed first")
            arrives(es, synced, second, "Stamped second, committed first",
                    "a change applied by the subscription")
            slow.commit()
            arrives(es, synced, first, "Stamped first, committed last",
                    "an earlier stamp applied later")
            (txid,) = sql(admin, "SELECT txid::text FROM content.film_work WHERE id = %s",
                          (first,))[0]
            (origin,) = sql(pub, "SELECT txid::text FROM content.film_work WHERE id = %s",
                            (first,))[0]
            assert txid != origin  # stamped by the subscriber's own transaction
        finally:
            sql(admin, f"ALTER SUBSCRIPTION {slot} DISABLE")
            sql(admin, f"ALTER SUBSCRIPTION {slot} SET (slot_name = NONE)")
            sql(admin, f"DROP SUBSCRIPTION {slot}")
            # The walsender lets the slot go a moment after the disable.
            wait_until(lambda: sql(pub, "SELECT NOT active FROM pg_replication_slots "
                                        "WHERE slot_name = %s", (slot,))[0][0],
                       timeout=30, what="the slot released")
            sql(pub, "SELECT pg_drop_replication_slot(%s)", (slot,))
    finally:
        slow.rollback()
        slow.close()
        pub.close()
        pg.drop_catalog(publisher)


def test_a_prepared_transaction_arrives_after_commit_prepared(pg, es, catalog, app, admin,
                                                              synced):
    mine, theirs = films(app, 2)
    gid = "snap-" + uuid.uuid4().hex[:8]
    writer = pg.connect("app", catalog)
    try:
        sql(writer, "BEGIN")
        retitle(writer, mine, "Prepared title")
        sql(writer, "PREPARE TRANSACTION %s", (gid,))
    finally:
        writer.close()
    try:
        retitle(app, theirs, "Not held by the prepared one")
        arrives(es, synced, theirs, "Not held by the prepared one",
                "another's change, a transaction prepared")
        stays_away(es, synced, mine, "Prepared title")
        sql(admin, "COMMIT PREPARED %s", (gid,))
        gid = None
        arrives(es, synced, mine, "Prepared title", "the change after COMMIT PREPARED")
    finally:
        if gid is not None:
            sql(admin, "ROLLBACK PREPARED %s", (gid,))


@pytest.mark.parametrize("skew", ["- interval '1 day'", "+ interval '1 day'"])
def test_modified_in_the_past_or_future_changes_nothing(pg, es, catalog, app, admin, synced,
                                                        skew):
    """A trigger after the one that stamps `modified` moves it a day off (a
    writer with a wrong clock, a bad import): the change arrives all the
    same, and so does a plain change after it."""
    before, skewed, plain = films(app, 3)
    # A plain change first: the cursor is at today's changes, not at the
    # sample data's old stamps.
    retitle(app, before, "Plain stamp before")
    arrives(es, synced, before, "Plain stamp before", "a plain change")
    sql(admin, "CREATE OR REPLACE FUNCTION public.skew_modified() RETURNS trigger LANGUAGE plpgsql AS $$"
               f" BEGIN NEW.modified := NEW.modified {skew}; RETURN NEW; END $$")
    # Triggers of one event fire in name order: after film_work_set_modified.
    sql(admin, "CREATE TRIGGER film_work_zz_skew BEFORE INSERT OR UPDATE ON content.film_work"
               " FOR EACH ROW EXECUTE FUNCTION public.skew_modified()")
    retitle(app, skewed, "Skewed stamp")
    arrives(es, synced, skewed, "Skewed stamp", "the change stamped a day off")
    sql(admin, "DROP TRIGGER film_work_zz_skew ON content.film_work")
    retitle(app, plain, "Plain stamp after")
    arrives(es, synced, plain, "Plain stamp after", "a plain change after the skewed one")


def test_a_state_file_of_the_clock_release_is_taken_over(tmp_path, pg, es, catalog, app, bin_dir,
                                                         workers):
    """8. A state file written by the release that read by clock (version 2,
    cursors by time) is set aside and the index rebuilt behind its alias:
    search keeps answering with every document meanwhile, and a change made
    while the worker was stopped is in the new index."""
    config, names = make_config(tmp_path, pg, es, catalog)
    index = names["movies"]
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    worker.stop()
    path = tmp_path / "state" / "movies.state"
    state = json.loads(path.read_text())
    old = {"version": 2, "index": state["index"], "phase": "serving",
           "concrete": state["concrete"],
           "sources": {name: {"modified": "2021-06-16 20:14:09.908383+00",
                              "id": "ffea4251-5ed9-4a06-b36d-8036bdbd07cd",
                              "doc_id": "ffffffff-ffff-ffff-ffff-ffffffffffff"}
                       for name in state["sources"]}}
    path.write_text(json.dumps(old))
    (fid,) = films(app, 1)
    retitle(app, fid, "Edited across the upgrade")
    total = es.count(index)
    worker = start_worker(workers, bin_dir, config)
    seen = []

    def moved():
        es.refresh(index)
        seen.append(es.count(index))
        return worker.events("alias moved")

    wait_until(moved, timeout=180, interval=0.1, what="the alias to move")
    assert set(seen) == {total}, "search lost documents during the rebuild"
    assert len(worker.events("unusable state file set aside; full load")) == 1
    arrives(es, index, fid, "Edited across the upgrade", "the change made while stopped")
    assert json.loads(path.read_text())["version"] == 3


def test_truncate_of_a_catalogue_table_rebuilds_behind_the_alias(pg, es, catalog, app, admin,
                                                                 synced):
    """5. TRUNCATE fires no row trigger: it is recorded by a statement
    trigger, and the indices it affects are rebuilt behind their alias,
    so the documents of the rows it removed leave the index."""
    cast = [r[0] for r in sql(app, "SELECT DISTINCT film_work_id::text FROM content.person_film_work"
                                   " WHERE role = 'actor' ORDER BY 1 LIMIT 5")]
    assert len(cast) == 5 and all(document(es, synced, fid)["actors"] for fid in cast)
    sql(admin, "TRUNCATE content.person_film_work")
    wait_until(lambda: not any(document(es, synced, fid)["actors"] for fid in cast),
               timeout=120, what="the films to lose their actors")


def test_a_database_behind_the_state_file_is_rebuilt_behind_the_alias(
        tmp_path, pg, es, catalog, app, bin_dir, workers):
    """6 (the ids; the cluster and timeline: test_restore.py). A database
    whose transaction ids are behind what the state file has read (a
    restore from a backup, a failover to a standby that lagged; simulated
    here by a state file whose window starts ahead of the server) is logged
    and rebuilt behind the alias, not trusted."""
    config, names = make_config(tmp_path, pg, es, catalog)
    worker = start_worker(workers, bin_dir, config)
    wait_caught_up(worker, timeout=120, what="the first load")
    worker.stop()
    path = tmp_path / "state" / "movies.state"
    state = json.loads(path.read_text())
    state["window"] = {"from": "4000000000:4000000000:"}
    path.write_text(json.dumps(state))
    (fid,) = films(app, 1)
    retitle(app, fid, "Edited after the restore")
    worker = start_worker(workers, bin_dir, config)
    worker.wait_for(lambda ev: [e for e in ev if e.get("msg") == "alias moved"],
                    timeout=180, what="the rebuild")
    behind = worker.events("database is behind the state file (restored or failed over?)")
    assert [e["reason"] for e in behind] == ["transaction ids behind the saved snapshot"]
    assert [e["reason"] for e in worker.events("rebuild started")] == ["database_behind"]
    arrives(es, names["movies"], fid, "Edited after the restore", "the change after the restore")
