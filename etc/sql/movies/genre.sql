-- Change source of the movies index: a genre renamed (or added) changes the
-- documents of its films.
-- The contract of this file: etc/sql/README.md.
WITH changed AS (
    SELECT modified, id
      FROM content.genre
     WHERE (modified, id) > ($1::timestamptz, $2::uuid)
       AND modified < $3::timestamptz
     ORDER BY modified, id
     LIMIT $4::int
)
SELECT c.modified::text, c.id::text, gfw.film_work_id::text AS doc_id
  FROM changed c
  LEFT JOIN content.genre_film_work gfw ON gfw.genre_id = c.id
 ORDER BY c.modified, c.id
