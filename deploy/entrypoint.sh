#!/bin/sh
# The app container's entrypoint: with a records database, bring its schema to head first
# (`maratang migrate`: safe when several app containers start at once), then run the command.
set -eu
if [ -n "${MARATANG_DATABASE_URL:-}" ]; then
  maratang migrate
fi
exec "$@"
