-- The genres index: one document per genre.  $1: uuid[] of genre ids.
-- Returns (id, document); an id not returned is deleted from the index.
SELECT g.id::text AS id,
       json_build_object('id', g.id, 'name', g.name, 'description', g.description)::text AS document
  FROM content.genre g
 WHERE g.id = ANY ($1::uuid[])
