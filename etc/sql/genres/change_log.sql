-- Change source of the genres index: deleted genres (content.change_log).
-- A genre document holds no links, so link changes do not touch it.
-- The contract of this file: etc/sql/README.md.
-- One row per group (an event): its doc_id may be NULL.
SELECT modified::text, id::text, genre_id::text AS doc_id
  FROM content.change_log c
 WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
   AND ((modified, id) > ($1::timestamptz, $2::uuid) OR genre_id > $5::uuid)
   AND modified < $3::timestamptz
   AND table_name = 'genre'
 ORDER BY c.modified, c.id
 LIMIT $4::int
