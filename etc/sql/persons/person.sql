-- Change source of the persons index: its own rows, the persons.
-- The contract of this file: etc/sql/README.md.
-- One row per group: its doc_id is its id.
SELECT txid::text, id::text, id::text AS doc_id, modified::text
  FROM content.person p
 WHERE (txid, id) >= ($1::xid8, $2::uuid)
   AND ((txid, id) > ($1::xid8, $2::uuid) OR id > $5::uuid)
   AND txid < pg_snapshot_xmax($3::pg_snapshot)
   AND pg_visible_in_snapshot(txid, $3::pg_snapshot)
   AND NOT pg_visible_in_snapshot(txid, $6::pg_snapshot)
 ORDER BY p.txid, p.id
 LIMIT $4::int
