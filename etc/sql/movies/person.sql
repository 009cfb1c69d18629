-- Change source of the movies index: a person renamed (or added) changes the
-- documents of the films they take part in.
-- The contract of this file: etc/sql/README.md.
-- A group is one changed person, one row per film (the fan-out, any size):
-- the LIMIT applies to these rows, so a batch holds at most $4 documents and
-- the cursor may stop inside a group.  At most $4 + 1 persons are needed for
-- $4 rows (the cursor's own group may have none left).
WITH changed AS (
    SELECT txid, id, modified
      FROM content.person
     WHERE (txid, id) >= ($1::xid8, $2::uuid)
       AND txid < pg_snapshot_xmax($3::pg_snapshot)
       AND pg_visible_in_snapshot(txid, $3::pg_snapshot)
       AND NOT pg_visible_in_snapshot(txid, $6::pg_snapshot)
     ORDER BY txid, id
     LIMIT $4::int + 1
), fanned AS (
    -- Each person's first $4 films after the cursor (a
    -- person in several roles of one film counts once), on the
    -- (person_id, film_work_id) index: a batch inside a fan-out of n films
    -- reads $4 links, not the n left, so a fan-out costs n, not n squared.
    -- Two branches, so that the cursor's own group starts the index scan
    -- at $5 (an index condition) instead of filtering the links before it;
    -- the condition on c gates each branch once per group.
    SELECT c.txid, c.id, l.film_work_id AS doc_id, c.modified
      FROM changed c
      LEFT JOIN LATERAL (
            (SELECT DISTINCT pfw.film_work_id
               FROM content.person_film_work pfw
              WHERE pfw.person_id = c.id
                AND (c.txid, c.id) > ($1::xid8, $2::uuid)
              ORDER BY pfw.film_work_id
              LIMIT $4::int)
            UNION ALL
            (SELECT DISTINCT pfw.film_work_id
               FROM content.person_film_work pfw
              WHERE pfw.person_id = c.id
                AND (c.txid, c.id) = ($1::xid8, $2::uuid)
                AND pfw.film_work_id > $5::uuid
              ORDER BY pfw.film_work_id
              LIMIT $4::int)
       ) l ON true
)
SELECT txid::text, id::text, doc_id::text, modified::text
  FROM fanned f
 WHERE (txid, id) > ($1::xid8, $2::uuid)
    OR doc_id > $5::uuid
 ORDER BY f.txid, f.id, f.doc_id
 LIMIT $4::int
