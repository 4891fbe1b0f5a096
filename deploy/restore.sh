#!/usr/bin/env bash
# Restore a backup made by deploy/backup.sh into a database (which must exist; its Maratang
# tables are replaced). Stop the servers writing to it first.
#
#   deploy/restore.sh BACKUP_FILE [DATABASE_URL]
#
# MARATANG_DATABASE_URL is the database when no URL is given.
set -euo pipefail

file=${1:-}
url=${2:-${MARATANG_DATABASE_URL:-}}

if [ -z "$file" ] || [ ! -f "$file" ]; then
  echo "restore: give the backup file to restore (deploy/restore.sh FILE [DATABASE_URL])" >&2
  exit 2
fi
if [ -z "$url" ]; then
  echo "restore: no database: give a URL or set MARATANG_DATABASE_URL" >&2
  exit 2
fi

echo "restore: $file into the database"
if ! pg_restore --clean --if-exists --no-owner --exit-on-error --single-transaction \
    --dbname="$url" "$file"; then
  echo "restore: pg_restore failed; the database was left as it was" >&2
  exit 1
fi
echo "restore: done"
