-- Change source of the movies index: a person renamed (or added) changes the
-- documents of the films they take part in.
-- The contract of this file: etc/sql/README.md.
-- A group is one changed person, one row per film (the fan-out, any size):
-- the LIMIT applies to these rows, so a batch holds at most $4 documents and
-- the cursor may stop inside a group.  At most $4 + 1 persons are needed for
-- $4 rows (the cursor's own group may have none left).
WITH changed AS (
    SELECT modified, id
      FROM content.person
     WHERE (modified, id) >= ($1::timestamptz, $2::uuid)
       AND modified < $3::timestamptz
     ORDER BY modified, id
     LIMIT $4::int + 1
), fanned AS (
    SELECT DISTINCT c.modified, c.id, l.film_work_id AS doc_id
      FROM changed c
      LEFT JOIN content.person_film_work l ON l.person_id = c.id
)
SELECT modified::text, id::text, doc_id::text
  FROM fanned f
 WHERE (modified, id) > ($1::timestamptz, $2::uuid)
    OR doc_id > $5::uuid
 ORDER BY f.modified, f.id, f.doc_id
 LIMIT $4::int
