-- The movies index: one document per film work, built here as JSON.
-- The contract of this file: etc/sql/README.md.
-- A role with nobody in it gives [] (never null); names keep a stable order.
SELECT fw.id::text AS id,
       json_build_object(
           'id', fw.id,
           'imdb_rating', fw.rating,
           'genres', coalesce(g.names, '[]'::json),
           'title', fw.title,
           'description', fw.description,
           'directors_names', coalesce(p.directors_names, '[]'::json),
           'actors_names', coalesce(p.actors_names, '[]'::json),
           'writers_names', coalesce(p.writers_names, '[]'::json),
           'directors', coalesce(p.directors, '[]'::json),
           'actors', coalesce(p.actors, '[]'::json),
           'writers', coalesce(p.writers, '[]'::json)
       )::text AS document
  FROM content.film_work fw
  LEFT JOIN LATERAL (
        SELECT json_agg(DISTINCT gn.name ORDER BY gn.name) AS names
          FROM content.genre_film_work gfw
          JOIN content.genre gn ON gn.id = gfw.genre_id
         WHERE gfw.film_work_id = fw.id
       ) g ON true
  LEFT JOIN LATERAL (
        SELECT json_agg(pr.full_name ORDER BY pr.full_name, pr.id) FILTER (WHERE pfw.role = 'director') AS directors_names,
               json_agg(pr.full_name ORDER BY pr.full_name, pr.id) FILTER (WHERE pfw.role = 'actor') AS actors_names,
               json_agg(pr.full_name ORDER BY pr.full_name, pr.id) FILTER (WHERE pfw.role = 'writer') AS writers_names,
               json_agg(json_build_object('id', pr.id, 'name', pr.full_name) ORDER BY pr.full_name, pr.id)
                   FILTER (WHERE pfw.role = 'director') AS directors,
               json_agg(json_build_object('id', pr.id, 'name', pr.full_name) ORDER BY pr.full_name, pr.id)
                   FILTER (WHERE pfw.role = 'actor') AS actors,
               json_agg(json_build_object('id', pr.id, 'name', pr.full_name) ORDER BY pr.full_name, pr.id)
                   FILTER (WHERE pfw.role = 'writer') AS writers
          FROM content.person_film_work pfw
          JOIN content.person pr ON pr.id = pfw.person_id
         WHERE pfw.film_work_id = fw.id
       ) p ON true
 WHERE fw.id = ANY ($1::uuid[])
