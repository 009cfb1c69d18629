-- Change source of the persons index (content.change_log): deleted persons,
-- and a person added to or removed from a film (deleting a film removes its
-- link rows by cascade, which are logged too).
-- The contract of this file: etc/sql/README.md.
-- One row per group (an event): its doc_id may be NULL; a TRUNCATE of a
-- table read here is '*', a change to every document (a rebuild).
SELECT txid::text, id::text,
       CASE WHEN operation = 'TRUNCATE' THEN '*' ELSE person_id::text END AS doc_id,
       modified::text
  FROM content.change_log c
 WHERE (txid, id) >= ($1::xid8, $2::uuid)
   AND ((txid, id) > ($1::xid8, $2::uuid) OR person_id > $5::uuid)
   AND txid < pg_snapshot_xmax($3::pg_snapshot)
   AND pg_visible_in_snapshot(txid, $3::pg_snapshot)
   AND NOT pg_visible_in_snapshot(txid, $6::pg_snapshot)
   AND table_name IN ('person', 'person_film_work')
 ORDER BY c.txid, c.id
 LIMIT $4::int
