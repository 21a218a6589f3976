#!/bin/sh
# PostgreSQL from Debian's package, run in the foreground like the official image, with the
# database and user the tutorial asks for (LAB_DB_NAME owned by LAB_DB_USER, password LAB_DB_PASSWORD).
set -eu
conf=/etc/postgresql/15/main
data=/var/lib/postgresql/15/main
sed -i "s/^#\?listen_addresses.*/listen_addresses = '*'/" "$conf/postgresql.conf"
grep -q '^host all all 0.0.0.0/0' "$conf/pg_hba.conf" \
  || echo 'host all all 0.0.0.0/0 scram-sha-256' >> "$conf/pg_hba.conf"
install -d -o postgres -g postgres /var/run/postgresql
su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $data -o '-c config_file=$conf/postgresql.conf' -w start" >/dev/null
su postgres -c "psql -v ON_ERROR_STOP=1 -q" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${LAB_DB_USER}') THEN
    CREATE ROLE "${LAB_DB_USER}" LOGIN PASSWORD '${LAB_DB_PASSWORD}';
  END IF;
END \$\$;
SQL
su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname = '${LAB_DB_NAME}'\"" | grep -q 1 \
  || su postgres -c "createdb -O '${LAB_DB_USER}' '${LAB_DB_NAME}'"
su postgres -c "/usr/lib/postgresql/15/bin/pg_ctl -D $data -w stop" >/dev/null
exec su postgres -c "exec /usr/lib/postgresql/15/bin/postgres -D $data -c config_file=$conf/postgresql.conf"
