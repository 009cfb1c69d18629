-- Change source of the genres index: its own rows, the genres.
-- The contract of this file: etc/sql/README.md.
WITH changed AS (
    SELECT modified, id
      FROM content.genre
     WHERE (modified, id) > ($1::timestamptz, $2::uuid)
       AND modified < $3::timestamptz
     ORDER BY modified, id
     LIMIT $4::int
)
SELECT modified::text, id::text, id::text AS doc_id
  FROM changed
 ORDER BY modified, id
