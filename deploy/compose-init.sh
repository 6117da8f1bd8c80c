#!/bin/sh
# Makes the homes of deploy/compose.yml's five nodes by the real ceremony of
# docs/operations.md, on this machine: `minhbach init` for each service, the
# entities' keys, the genesis (`minhbach genesis new`, `add-entity`,
# `add-validator`, `add-node`, `finalize`), then the genesis copied into
# each home, its hash pinned and the other four services listed as peers.
#
#   sh deploy/compose-init.sh [DIR]      # DIR: deploy/homes by default
#
# DIR/v1 .. DIR/v4, DIR/explorer   the nodes' homes (keys mode 0600)
# DIR/entities/                    the treasury's and a ministry's keys
# DIR/ceremony/                    the join requests, the genesis, its hash
#
# Runs `minhbach` from PATH, or the program named by $MINHBACH (for
# instance target/release/minhbach). Refuses a DIR that exists and is not
# empty: homes are never overwritten.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-"$here/homes"}
mb=${MINHBACH:-minhbach}
chain_id=${MINHBACH_CHAIN_ID:-minhbach-compose}
validators="v1 v2 v3 v4"
full="explorer"
p2p_port=26656

fail() {
    echo "compose-init.sh: $*" >&2
    exit 1
}

command -v "$mb" >/dev/null 2>&1 ||
    fail "no $mb on PATH: build it (cargo build --release) and set MINHBACH=target/release/minhbach"
if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
    fail "$dir is not empty; homes are never overwritten (to start again, remove it and the" \
        "volumes: docker compose -f deploy/compose.yml down -v)"
fi
umask 077
mkdir -p "$dir/ceremony" "$dir/entities"

# 1. Each node's home, as its operator would make it on its own machine.
for n in $validators $full; do
    role=validator
    explorer=""
    if [ "$n" = "$full" ]; then
        role=full
        explorer="--explorer 0.0.0.0:8081"
    fi
    # $explorer is split on purpose: no word, or two.
    # shellcheck disable=SC2086
    "$mb" init --home "$dir/$n" --role "$role" --name "$n" \
        --p2p-listen "/ip4/0.0.0.0/tcp/$p2p_port" \
        --p2p-external "/dns4/$n/tcp/$p2p_port" \
        --api 127.0.0.1:8080 $explorer >"$dir/ceremony/$n.join.json"
done

# 2. The entities' keys; only their public keys go into the genesis.
public_key() {
    "$mb" keys new --out "$dir/entities/$1.key" >/dev/null
    "$mb" keys show "$dir/entities/$1.key" | awk '$1 == "public_key" { print $2 }'
}
btc=$(public_key BTC)
byt=$(public_key BYT)
if [ -z "$btc" ] || [ -z "$byt" ]; then
    fail "$mb keys show printed no public_key"
fi

# 3. The genesis, from the join requests and public keys alone.
g="$dir/ceremony/genesis.json"
"$mb" genesis new --chain-id "$chain_id" --treasury-id BTC \
    --treasury-name "Bộ Tài chính" --treasury-public-key "$btc" --out "$g"
"$mb" genesis add-entity "$g" --id BYT --kind ministry --name "Bộ Y tế" --public-key "$byt"
for n in $validators; do
    "$mb" genesis add-validator "$g" --join "$dir/ceremony/$n.join.json"
done
"$mb" genesis add-node "$g" --join "$dir/ceremony/$full.join.json" --entity BTC
hash=$("$mb" genesis finalize "$g")
echo "$hash" >"$dir/ceremony/genesis.hash"

# 4. Each home: the genesis, its hash pinned, and the other nodes as peers.
peer_id() {
    sed -n 's/.*"peer_id": *"\([^"]*\)".*/\1/p' "$dir/ceremony/$1.join.json"
}
for n in $validators $full; do
    peers=""
    for other in $validators $full; do
        [ "$other" = "$n" ] && continue
        id=$(peer_id "$other")
        [ -n "$id" ] || fail "no peer_id in $dir/ceremony/$other.join.json"
        peers="$peers${peers:+, }\"/dns4/$other/tcp/$p2p_port/p2p/$id\""
    done
    cp "$g" "$dir/$n/genesis.json"
    config="$dir/$n/config.toml"
    awk -v hash="$hash" -v peers="$peers" '
        /^\[node\]$/ { print; print "genesis_hash = \"" hash "\""; pinned++; next }
        /^peers = \[\]$/ { print "peers = [" peers "]"; listed++; next }
        { print }
        END { if (pinned != 1 || listed != 1) exit 1 }
    ' "$config" >"$config.new" ||
        fail "$config does not have one [node] section and one empty peers list"
    mv "$config.new" "$config"
done

echo "made $dir: four validators and a full node on chain $chain_id, genesis $hash"
echo "next: docker compose -f deploy/compose.yml up --build  (explorer: http://localhost:8081)"
