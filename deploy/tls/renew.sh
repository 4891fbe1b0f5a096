#!/usr/bin/env bash
# Renew the certificate now (it renews itself twice a day when due) and reload nginx.
#   deploy/tls/renew.sh [--force-renewal]
set -euo pipefail
cd "$(dirname "$0")/.."
compose=(docker compose -f docker-compose.prod.yml)
"${compose[@]}" run --rm --entrypoint certbot certbot renew --webroot -w /var/www/certbot "$@"
"${compose[@]}" exec nginx nginx -s reload
