#!/usr/bin/env bash
# Back up Maratang's records database: a pg_dump in custom format, named by the UTC time,
# keeping the newest N. Exits non-zero (and leaves no partial file) when the dump fails.
#
#   deploy/backup.sh [DATABASE_URL]
#
# Settings (environment):
#   MARATANG_DATABASE_URL   the database, when not given as the argument
#   MARATANG_BACKUP_DIR     where the dumps go (default: ./backups)
#   MARATANG_BACKUP_KEEP    how many dumps to keep (default: 14)
set -euo pipefail

url=${1:-${MARATANG_DATABASE_URL:-}}
dir=${MARATANG_BACKUP_DIR:-./backups}
keep=${MARATANG_BACKUP_KEEP:-14}

if [ -z "$url" ]; then
  echo "backup: no database: give a URL or set MARATANG_DATABASE_URL" >&2
  exit 2
fi
case "$keep" in
  ''|*[!0-9]*|0) echo "backup: MARATANG_BACKUP_KEEP must be a whole number above 0" >&2; exit 2 ;;
esac

mkdir -p "$dir"
stamp=$(date -u +%Y%m%dT%H%M%S.%3NZ)
file="$dir/maratang-$stamp.dump"
partial="$file.partial"
trap 'rm -f "$partial"' EXIT

echo "backup: dumping to $file"
if ! pg_dump --format=custom --no-owner --file="$partial" --dbname="$url"; then
  echo "backup: pg_dump failed; no backup was written" >&2
  exit 1
fi
mv "$partial" "$file"
echo "backup: $(du -h "$file" | cut -f1) written"

# Keep the newest $keep dumps (names sort by time).
mapfile -t old < <(ls -1 "$dir"/maratang-*.dump 2>/dev/null | sort -r | tail -n +"$((keep + 1))")
for stale in "${old[@]}"; do
  rm -f -- "$stale"
  echo "backup: removed $stale (keeping $keep)"
done
