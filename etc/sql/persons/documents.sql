-- The persons index: one document per person with their roles in each film:
-- {id, full_name, films: [{id, roles: [...]}]}.
-- The contract of this file: etc/sql/README.md.
-- A person in no film has films = [].
SELECT p.id::text AS id,
       json_build_object(
           'id', p.id,
           'full_name', p.full_name,
           'films', coalesce(f.films, '[]'::json)
       )::text AS document
  FROM content.person p
  LEFT JOIN LATERAL (
        SELECT json_agg(json_build_object('id', r.film_work_id, 'roles', r.roles)
                        ORDER BY r.film_work_id) AS films
          FROM (SELECT pfw.film_work_id, json_agg(pfw.role ORDER BY pfw.role) AS roles
                  FROM content.person_film_work pfw
                 WHERE pfw.person_id = p.id
                 GROUP BY pfw.film_work_id) r
       ) f ON true
 WHERE p.id = ANY ($1::uuid[])
