"""The change queries of etc/sql, as PostgreSQL plans them on a real
catalogue: each orders its rows by the table's xid8 and uuid columns,
never by the text columns it returns.  Those carry the same names
(`txid::text` is still called txid), so an unqualified `ORDER BY txid, id`
sorts texts: no index serves it, and every batch sorts every row past the
cursor (docs/performance.md).  And a batch inside a fan-out (a person's or
a genre's films) reads about a batch of links, not every link the group
has left."""
import json
import re

import pytest

from etlproc import ETC

CHANGES_RE = re.compile(r"^\s*changes\s*=\s*(.+?)\s*$", re.M)
START = ("'0'", "'00000000-0000-0000-0000-000000000000'", "pg_current_snapshot()", "500",
         "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'1:1:'")
# The parameters of a change query (etc/sql/README.md).
PARAMS = "xid8, uuid, pg_snapshot, int, uuid, pg_snapshot"


def change_queries():
    """Every change source file named in etc/etl.ini."""
    files = []
    for listed in CHANGES_RE.findall((ETC / "etl.ini").read_text()):
        files += [ETC / name for name in listed.split()]
    assert files
    return files


def sort_keys(plan):
    """The sort keys of every Sort node of a JSON plan."""
    keys = list(plan.get("Sort Key", [])) if "Sort" in plan.get("Node Type", "") else []
    for child in plan.get("Plans", []):
        keys += sort_keys(child)
    return keys


@pytest.mark.parametrize("path", change_queries(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_change_query_orders_by_the_columns_not_their_text(pg, catalog, path):
    conn = pg.connect("postgres", catalog)
    try:
        with conn.cursor() as cur:
            cur.execute(f"PREPARE change({PARAMS}) AS {path.read_text()}")
            # A sort the index could have spared shows as a Sort node.
            cur.execute("SET enable_seqscan = off")
            cur.execute(f"EXPLAIN (FORMAT JSON) EXECUTE change({', '.join(START)})")
            plan = cur.fetchone()[0][0]["Plan"]
    finally:
        conn.close()
    texts = [key for key in sort_keys(plan) if "::text" in key]
    assert not texts, f"{path}: sorts by text: {texts}\n{json.dumps(plan, indent=1)}"


def link_rows(plan, table):
    """Rows every scan of table in a JSON plan (EXPLAIN ANALYZE) returned."""
    rows = plan.get("Actual Rows", 0) * plan.get("Actual Loops", 0) \
        if plan.get("Relation Name") == table else 0
    return rows + sum(link_rows(child, table) for child in plan.get("Plans", []))


FANOUT_FILMS = 60
FANOUT_BATCH = 10
FANOUT_DONE = 40  # films of the group done before the batch


@pytest.mark.parametrize("source,owner,link,column", [
    ("person.sql", "person", "person_film_work", "person_id"),
    ("genre.sql", "genre", "genre_film_work", "genre_id"),
])
def test_a_batch_inside_a_fan_out_reads_a_batch_of_links(pg, catalog, source, owner, link, column):
    """A person (a genre) in FANOUT_FILMS films, the cursor inside that
    group after FANOUT_DONE of them: the next batch of FANOUT_BATCH rows
    reads about FANOUT_BATCH links, neither every link of the group nor
    those before the cursor (a fan-out of n films would cost n squared
    over its n / batch_size batches)."""
    conn = pg.connect("postgres", catalog)
    try:
        with conn.cursor() as cur:
            extra = ", full_name" if owner == "person" else ", name"
            cur.execute(f"INSERT INTO content.{owner} (id{extra}, created)"
                        f" VALUES (gen_random_uuid(), 'Fan-out', now())"
                        f" RETURNING id::text, txid::text")
            owner_id, txid = cur.fetchone()
            role = ", role" if owner == "person" else ""
            role_value = ", 'actor'" if owner == "person" else ""
            cur.execute(f"INSERT INTO content.{link} (id, {column}, film_work_id{role}, created)"
                        f" SELECT gen_random_uuid(), %s, id{role_value}, now()"
                        f"   FROM content.film_work ORDER BY id LIMIT %s", (owner_id, FANOUT_FILMS))
            # The cursor well inside the group: FANOUT_DONE films done.
            cur.execute(f"SELECT film_work_id::text FROM content.{link} WHERE {column} = %s"
                        f" ORDER BY film_work_id OFFSET %s LIMIT 1", (owner_id, FANOUT_DONE - 1))
            done_film = cur.fetchone()[0]
            cur.execute("ANALYZE")
            cur.execute(f"PREPARE change({PARAMS}) AS"
                        f" {(ETC / 'sql' / 'movies' / source).read_text()}")
            # The window: from just before the insert to now.
            before = f"{txid}:{txid}:"
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE change("
                        "%s, %s, pg_current_snapshot(), %s, %s, %s)",
                        (txid, owner_id, FANOUT_BATCH, done_film, before))
            plan = cur.fetchone()[0][0]["Plan"]
            cur.execute("EXECUTE change(%s, %s, pg_current_snapshot(), %s, %s, %s)",
                        (txid, owner_id, FANOUT_BATCH, done_film, before))
            rows = cur.fetchall()
    finally:
        conn.close()
    # The batch itself: the next FANOUT_BATCH films of the group, in order.
    assert len(rows) == FANOUT_BATCH and all(r[1] == owner_id for r in rows), rows
    assert [r[2] for r in rows] == sorted(r[2] for r in rows) and rows[0][2] > done_film, rows
    read = link_rows(plan, link)
    assert read <= 2 * FANOUT_BATCH, f"{source}: read {read} links for {FANOUT_BATCH} rows\n" \
                                     f"{json.dumps(plan, indent=1)}"
