-- Change source of the genres index: deleted genres (content.change_log).
-- A genre document holds no links, so link changes do not touch it.
-- The contract of this file: etc/sql/README.md.
-- One row per group (an event): its doc_id may be NULL; a TRUNCATE of a
-- table read here is '*', a change to every document (a rebuild).
SELECT txid::text, id::text,
       CASE WHEN operation = 'TRUNCATE' THEN '*' ELSE genre_id::text END AS doc_id,
       modified::text
  FROM content.change_log c
 WHERE (txid, id) >= ($1::xid8, $2::uuid)
   AND ((txid, id) > ($1::xid8, $2::uuid) OR genre_id > $5::uuid)
   AND txid < pg_snapshot_xmax($3::pg_snapshot)
   AND pg_visible_in_snapshot(txid, $3::pg_snapshot)
   AND NOT pg_visible_in_snapshot(txid, $6::pg_snapshot)
   AND table_name = 'genre'
 ORDER BY c.txid, c.id
 LIMIT $4::int
