#!/usr/bin/env bash
# Sets up a fresh Debian machine for sockworker: the Debian packages the tests
# talk to (real peers, never mocks), then the npm dependencies, including the
# pinned Node.js 24 that every npm script runs on.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t debian_packages < <(grep -v '^#' scripts/debian-packages.txt | grep -v '^$')

missing=()
for package in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
done

if ((${#missing[@]})); then
  if ! command -v apt-get >/dev/null; then
    echo "setup: install these packages with your system's package manager: ${missing[*]}" >&2
    exit 1
  fi
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm start's SMTP example offers STARTTLS: give it a certificate of its own,
# made here so that no private key is ever committed.
if [ ! -f examples/.certs/smtp.crt ]; then
  echo "setup: making a self-signed certificate for the smtp example"
  mkdir -p examples/.certs
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
    -keyout examples/.certs/smtp.key -out examples/.certs/smtp.crt 2>/dev/null
fi

echo "setup: installing npm dependencies"
npm ci --no-audit --no-fund
echo "setup: done ($(npx --no-install node --version))"
