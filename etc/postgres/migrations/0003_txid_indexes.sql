-- etl-migration: no-transaction
-- Migration 0003: the indexes of the txid range scans (release 0.2.0), and
-- the (modified, id) ones they replace.  Built CONCURRENTLY, so writers go on
-- while they are: each statement runs on its own, outside a transaction (the
-- first line above says so), and the version is recorded after the last.
-- Each is idempotent: an upgrade stopped half-way is run again from the
-- first statement (an index a stopped build left invalid is dropped and
-- built again by the upgrade).  Only CREATE/DROP INDEX CONCURRENTLY with IF
-- [NOT] EXISTS belong in a file like this one.
CREATE INDEX CONCURRENTLY IF NOT EXISTS film_work_txid_id_idx ON content.film_work (txid, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS genre_txid_id_idx ON content.genre (txid, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS person_txid_id_idx ON content.person (txid, id);
CREATE INDEX CONCURRENTLY IF NOT EXISTS change_log_txid_id_idx ON content.change_log (txid, id);
-- Read by (modified, id) no more.
DROP INDEX CONCURRENTLY IF EXISTS content.film_work_modified_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS content.genre_modified_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS content.person_modified_id_idx;
DROP INDEX CONCURRENTLY IF EXISTS content.change_log_modified_id_idx;
