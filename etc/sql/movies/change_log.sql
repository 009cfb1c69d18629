-- Change source of the movies index: events that leave no row to poll
-- (content.change_log, written by triggers): a deleted film work, and a
-- genre or person added to or removed from a film (a deleted genre or person
-- removes its link rows by cascade, which are logged too).
-- The contract of this file: etc/sql/README.md.
-- One row per group (an event): its doc_id may be NULL.
SELECT modified::text, id::text, film_work_id::text AS doc_id
  FROM content.change_log c
 WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
   AND ((modified, id) > ($1::timestamptz, $2::uuid) OR film_work_id > $5::uuid)
   AND modified < $3::timestamptz
   AND table_name IN ('film_work', 'genre_film_work', 'person_film_work')
 ORDER BY c.modified, c.id
 LIMIT $4::int
