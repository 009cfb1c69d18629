-- Change source of the movies index: a person renamed (or added) changes the
-- documents of the films they take part in.
-- The contract of this file: etc/sql/README.md.
WITH changed AS (
    SELECT modified, id
      FROM content.person
     WHERE (modified, id) > ($1::timestamptz, $2::uuid)
       AND modified < $3::timestamptz
     ORDER BY modified, id
     LIMIT $4::int
)
SELECT c.modified::text, c.id::text, pfw.film_work_id::text AS doc_id
  FROM changed c
  LEFT JOIN content.person_film_work pfw ON pfw.person_id = c.id
 ORDER BY c.modified, c.id
