#!/bin/sh
# Loads the sample catalogue (sample.sql.gz beside this file) into content,
# in one transaction, keeping the sample's ids and timestamps; rows already
# there are left alone, so loading twice changes nothing.  Connects with
# libpq's variables; runs as catalog_owner (it disables the stamping triggers
# for the load, which only the tables' owner may do).
#
# Load before the ETL first runs: rows keep their 2021 timestamps, which an
# ETL that has already synced past them would not look back at (to re-sync
# after a late load, remove the ETL's state files; see docs/operations.md).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
{
    echo 'SET ROLE catalog_owner;'
    gzip -dc "$here/sample.sql.gz"
} | psql -X -q -v ON_ERROR_STOP=1
