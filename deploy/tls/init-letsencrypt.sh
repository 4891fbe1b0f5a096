#!/usr/bin/env bash
# The first Let's Encrypt certificate for MARATANG_DOMAIN, with Docker Compose:
#   1. a one-day self-signed certificate, so nginx can start its TLS server;
#   2. nginx (and what it depends on) up;
#   3. the temporary certificate removed, the real one requested over HTTP-01 (webroot);
#   4. nginx reloaded.
# Renewal is then automatic (the certbot service; nginx reloads every 6 h).
#
#   deploy/tls/init-letsencrypt.sh            # a real certificate
#   STAGING=1 deploy/tls/init-letsencrypt.sh  # Let's Encrypt's staging CA (no rate limits)
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f .env ]; then
  echo "init-letsencrypt: deploy/.env is missing (cp deploy/.env.example deploy/.env)" >&2
  exit 2
fi
domain=$(sed -n 's/^MARATANG_DOMAIN=//p' .env | tail -n 1)
email=$(sed -n 's/^LETSENCRYPT_EMAIL=//p' .env | tail -n 1)
if [ -z "$domain" ] || [ "$domain" = "game.example.com" ] || [ -z "$email" ]; then
  echo "init-letsencrypt: set MARATANG_DOMAIN and LETSENCRYPT_EMAIL in deploy/.env" >&2
  exit 2
fi
compose=(docker compose -f docker-compose.prod.yml)
live="/etc/letsencrypt/live/$domain"

echo "==> a temporary certificate for $domain"
"${compose[@]}" run --rm --entrypoint sh certbot -c \
  "mkdir -p $live && openssl req -x509 -nodes -newkey rsa:2048 -days 1 \
   -keyout $live/privkey.pem -out $live/fullchain.pem -subj /CN=localhost"

echo "==> starting nginx"
"${compose[@]}" up -d nginx

echo "==> requesting the certificate"
"${compose[@]}" run --rm --entrypoint sh certbot -c \
  "rm -rf $live /etc/letsencrypt/archive/$domain /etc/letsencrypt/renewal/$domain.conf"
staging=()
[ "${STAGING:-0}" = 1 ] && staging=(--staging)
"${compose[@]}" run --rm --entrypoint certbot certbot certonly --webroot -w /var/www/certbot \
  -d "$domain" --email "$email" --agree-tos --no-eff-email --rsa-key-size 4096 \
  "${staging[@]}" --non-interactive

echo "==> reloading nginx"
"${compose[@]}" exec nginx nginx -s reload
echo "done: https://$domain/"
