-- Change source of the genres index: genres themselves (its own rows:
-- a fresh load walks this source alone).
-- Every change source takes the same parameters and returns the same columns:
--   $1 cursor modified, $2 cursor id: the last (modified, id) already done
--   $3 horizon: only rows stamped strictly before it (content.etl_horizon())
--   $4 limit: at most this many changed rows
-- and returns (modified, id, doc_id) ordered by (modified, id): the changed
-- row's keyset and the id of a document it affects (one line per affected
-- document; doc_id NULL when it affects none).
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
