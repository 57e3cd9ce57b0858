#!/bin/sh
# The roles the backend needs (run once by the postgres image on an empty data
# directory, or by hand with the same variables): an owner that migrates, and the role
# the instances run as — no superuser, no BYPASSRLS, owns nothing, may read and write
# the tables the owner creates. Names may be changed with SCANCTL_OWNER_ROLE and
# SCANCTL_APP_ROLE; passwords come from the environment and are never defaulted.
set -eu
: "${SCANCTL_OWNER_PASSWORD:?set SCANCTL_OWNER_PASSWORD}"
: "${SCANCTL_APP_PASSWORD:?set SCANCTL_APP_PASSWORD}"
owner="${SCANCTL_OWNER_ROLE:-scanctl_owner}"
app="${SCANCTL_APP_ROLE:-scanctl_app}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v owner="$owner" -v app="$app" \
    -v owner_password="$SCANCTL_OWNER_PASSWORD" -v app_password="$SCANCTL_APP_PASSWORD" <<'SQL'
CREATE ROLE :"owner" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'app_password';
GRANT CREATE, USAGE ON SCHEMA public TO :"owner";
GRANT USAGE ON SCHEMA public TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"app";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE ON SEQUENCES TO :"app";
SQL
