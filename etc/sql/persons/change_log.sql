-- Change source of the persons index (content.change_log): deleted persons,
-- and a person added to or removed from a film (deleting a film removes its
-- link rows by cascade, which are logged too).
-- The contract of this file: etc/sql/README.md.
-- One row per group (an event): its doc_id may be NULL.
SELECT modified::text, id::text, person_id::text AS doc_id
  FROM content.change_log c
 WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
   AND ((modified, id) > ($1::timestamptz, $2::uuid) OR person_id > $5::uuid)
   AND modified < $3::timestamptz
   AND table_name IN ('person', 'person_film_work')
 ORDER BY c.modified, c.id
 LIMIT $4::int
