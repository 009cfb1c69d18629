-- Change source of the movies index: its own rows, the film works.
-- The contract of this file: etc/sql/README.md.
-- One row per group: its doc_id is its id.
SELECT modified::text, id::text, id::text AS doc_id
  FROM content.film_work f
 WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
   AND ((modified, id) > ($1::timestamptz, $2::uuid) OR id > $5::uuid)
   AND modified < $3::timestamptz
 ORDER BY f.modified, f.id
 LIMIT $4::int
