-- The genres index: one document per genre.
-- The contract of this file: etc/sql/README.md.
SELECT g.id::text AS id,
       json_build_object('id', g.id, 'name', g.name, 'description', g.description)::text AS document
  FROM content.genre g
 WHERE g.id = ANY ($1::uuid[])
