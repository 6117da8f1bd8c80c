#!/usr/bin/env bash
# Screenshots of a running devnet's explorer, for the README: the home page,
# the page of the ministry the most money went to (its money flow and its
# execution by month), and the page of the most recent payment, taken with
# headless Chromium.
#
#   scripts/screenshots.sh [--dir DEVNET_DIR] [--url EXPLORER_URL] [--out DIR]
#                          [--lang vi|en] [--width PX] [--home-height PX]
#                          [--tx-height PX] [--ministry-height PX]
#
# The explorer's address comes from DEVNET_DIR/devnet.json (default ./devnet;
# the one node with an explorer), or --url. The payment is the last one in
# the explorer's CSV export (GET /v1/export.csv, rows in chain order). Writes
# OUT/home.png, OUT/ministry.png and OUT/tx.png (default docs/screenshots).
# Needs curl and Debian's chromium. Start a devnet first, and give its demo
# feed a minute:
#
#   minhbach devnet --dir /tmp/shots-devnet &
#   scripts/screenshots.sh --dir /tmp/shots-devnet
set -euo pipefail

dir=./devnet
url=
out=docs/screenshots
lang="vi"
width=1280
home_height=2000
tx_height=1250
ministry_height=2200

# usage EXIT_CODE: the comment above, on stderr.
usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=${2:?--dir needs a folder}; shift 2 ;;
    --url) url=${2:?--url needs a URL}; shift 2 ;;
    --out) out=${2:?--out needs a folder}; shift 2 ;;
    --lang) lang=${2:?--lang needs vi or en}; shift 2 ;;
    --width) width=${2:?}; shift 2 ;;
    --home-height) home_height=${2:?}; shift 2 ;;
    --tx-height) tx_height=${2:?}; shift 2 ;;
    --ministry-height) ministry_height=${2:?}; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "screenshots: unknown argument $1" >&2; usage 2 ;;
  esac
done
case "$lang" in vi|en) ;; *) echo "screenshots: --lang is vi or en" >&2; exit 2 ;; esac

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "screenshots: needs Chromium: apt-get install --no-install-recommends chromium" >&2
  exit 1
fi
command -v curl >/dev/null || { echo "screenshots: needs curl" >&2; exit 1; }

if [ -z "$url" ]; then
  plan="$dir/devnet.json"
  [ -f "$plan" ] || { echo "screenshots: no $plan; start a devnet or pass --url" >&2; exit 1; }
  addr=$(grep -o '"explorer": *"[^"]*"' "$plan" | head -n 1 | sed 's/.*"\([^"]*\)"$/\1/')
  [ -n "$addr" ] || { echo "screenshots: no node in $plan serves the explorer" >&2; exit 1; }
  url="http://$addr"
fi
url=${url%/}

curl -fsS --max-time 5 "$url/readyz" >/dev/null || {
  echo "screenshots: the explorer at $url does not answer; is the devnet running?" >&2
  exit 1
}

# The tx_hash column (6th) of the last payment row. The columns before it
# (height, hash, record type, height, time) never hold a comma.
hash=$(curl -fsS --max-time 60 "$url/v1/export.csv" |
  awk -F, '$3 == "payment" { h = $6 } END { print h }')
if ! [[ "$hash" =~ ^[0-9a-f]{64}$ ]]; then
  echo "screenshots: no payment committed yet at $url; let the demo feed run a little longer" >&2
  exit 1
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# shot FILE HEIGHT URL
shot() {
  local file=$1 height=$2 page=$3
  timeout 60 "$chromium" --headless=new --no-sandbox --disable-gpu \
    --disable-dev-shm-usage --hide-scrollbars --no-first-run \
    --no-default-browser-check --disable-extensions --disable-sync \
    --user-data-dir="$profile" --window-size="$width,$height" \
    --screenshot="$file" "$page" >"$profile/chromium.log" 2>&1 || {
    echo "screenshots: chromium failed on $page:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
  }
  [ -s "$file" ] || { echo "screenshots: chromium wrote no $file" >&2; exit 1; }
  echo "$file  $(du -k "$file" | cut -f1) KB  $page"
}

# The ministry of the widest band leaving the treasury on the home page.
ministry=$(curl -fsS --max-time 10 "$url/?lang=$lang" |
  grep -o 'class="band"[^>]*data-stage="0"[^>]*data-to="[A-Z0-9._-]*"[^>]*data-amount="[0-9]*"' |
  sed 's/.*data-to="\([^"]*\)".*data-amount="\([0-9]*\)".*/\2 \1/' |
  sort -n | tail -n 1 | cut -d' ' -f2)
if [ -z "$ministry" ]; then
  echo "screenshots: no money flow on the home page yet; let the demo feed run a little longer" >&2
  exit 1
fi

shot "$out/home.png" "$home_height" "$url/?lang=$lang"
shot "$out/ministry.png" "$ministry_height" "$url/entities/$ministry?lang=$lang"
shot "$out/tx.png" "$tx_height" "$url/txs/$hash?lang=$lang"
