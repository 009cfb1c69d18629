-- Change source of the persons index: its own rows, the persons.
-- The contract of this file: etc/sql/README.md.
-- One row per group: its doc_id is its id.
SELECT modified::text, id::text, id::text AS doc_id
  FROM content.person p
 WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
   AND ((modified, id) > ($1::timestamptz, $2::uuid) OR id > $5::uuid)
   AND modified < $3::timestamptz
 ORDER BY p.modified, p.id
 LIMIT $4::int
