#!/usr/bin/env bash
# End-to-end benchmark: h2actor's examples/server against nghttpd --no-tls and
# the h2 crate (examples/h2_anchor), started side by side in the same run, all
# on 127.0.0.1, all single-threaded (actix: one arbiter; nghttpd: one worker;
# h2_anchor: a tokio runtime with one worker).
#
#   benches/h2load.sh            # the issue's workloads
#   N=200000 benches/h2load.sh   # shorter request-rate run
#   SERVERS="nghttpd h2" benches/h2load.sh   # a subset
#   ROUNDS=3 benches/h2load.sh   # each workload 3 times, servers interleaved;
#                                # the best round of each server is reported
#   BEFORE_BIN=../old/target/release/examples/server SERVERS="ours before nghttpd" \
#     benches/h2load.sh          # a before/after comparison in the same run
#
# Workloads (h2load from nghttp2-client, one client thread):
#   1. request rate: h2load -n $N -c 16 -m 32 -t 1 http://.../          (12-byte body)
#   2. download:     h2load -n 4 -c 1 -m 1 -t 1 http://.../bytes/67108864 (4 x 64 MiB)
# nghttpd serves a directory holding index.html ("hello world\n") and the
# 64 MiB file bytes/67108864, so all three servers answer the same URLs.
# The figures are noisy on a small shared machine: run it a few times.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1200000}
BIG=67108864
PORT_OURS=${PORT_OURS:-18480}
PORT_NGHTTPD=${PORT_NGHTTPD:-18481}
PORT_H2=${PORT_H2:-18482}
PORT_BEFORE=${PORT_BEFORE:-18483}
RUN_LIMIT=${RUN_LIMIT:-600}   # seconds per h2load run
SERVERS=${SERVERS:-ours nghttpd h2}
ROUNDS=${ROUNDS:-1}

for tool in h2load nghttpd; do
  command -v "$tool" >/dev/null || { echo "h2load.sh: $tool is missing (apt-get install nghttp2-client nghttp2-server)" >&2; exit 1; }
done

cargo build --release --example server --example h2_anchor
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET_DIR/release/examples"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

printf 'hello world\n' > "$tmp/index.html"
mkdir -p "$tmp/bytes"
head -c "$BIG" /dev/zero | tr '\0' 'a' > "$tmp/bytes/$BIG"

declare -A PID PORT=([ours]=$PORT_OURS [nghttpd]=$PORT_NGHTTPD [h2]=$PORT_H2 [before]=$PORT_BEFORE)
for s in $SERVERS; do
  case $s in
    ours) "$BIN/server" --addr "127.0.0.1:$PORT_OURS" 2>"$tmp/ours.log" & ;;
    nghttpd) nghttpd --no-tls -a 127.0.0.1 -d "$tmp" "$PORT_NGHTTPD" >"$tmp/nghttpd.log" 2>&1 & ;;
    h2) "$BIN/h2_anchor" --addr "127.0.0.1:$PORT_H2" 2>"$tmp/h2.log" & ;;
    before) "${BEFORE_BIN:?BEFORE_BIN=path of an older examples/server}" --addr "127.0.0.1:$PORT_BEFORE" 2>"$tmp/before.log" & ;;
    *) echo "h2load.sh: unknown server $s" >&2; exit 2 ;;
  esac
  pids+=($!); PID[$s]=$!
done

for s in $SERVERS; do
  port=${PORT[$s]}
  timeout 15 bash -c "until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do sleep 0.1; done" \
    || { echo "h2load.sh: nothing listens on port $port" >&2; exit 1; }
done

# run NAME URL H2LOAD-ARGS... : prints "req/s MB/s" and checks nothing failed.
run() {
  local name=$1 url=$2; shift 2
  local out
  out=$(timeout "$RUN_LIMIT" h2load "$@" "$url" 2>&1) || { echo "h2load against $name failed:" >&2; echo "$out" >&2; exit 1; }
  echo "$out" > "$tmp/h2load-$name-$(date +%s%N).txt"
  local fin req
  fin=$(echo "$out" | grep '^finished in')
  req=$(echo "$out" | grep '^requests:')
  echo "   $name: $fin" >&2
  echo "   $name: $req" >&2
  if ! echo "$req" | grep -q ' 0 failed, 0 errored'; then
    echo "h2load against $name had failures" >&2; exit 1
  fi
  # "finished in 4.08s, 294117.65 req/s, 10.38MB/s"
  echo "$fin" | sed -E 's/.*, ([0-9.]+) req\/s, ([0-9.]+)([KMG]?)B\/s.*/\1 \2 \3/' |
    awk '{ mb=$2; if ($3=="K") mb/=1024; else if ($3=="G") mb*=1024; else if ($3=="") mb/=1048576; printf "%s %.2f\n", $1, mb }'
}

rss() { awk '/VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo "?"; }

declare -A REQ MBS
echo "== warm-up (20k requests each)" >&2
for s in $SERVERS; do
  run "$s" "http://127.0.0.1:${PORT[$s]}/" -n 20000 -c 16 -m 32 -t 1 >/dev/null
done

# best A B: the larger of two numbers (an empty A counts as nothing yet).
best() { awk -v a="${1:-0}" -v b="$2" 'BEGIN { print (b + 0 > a + 0) ? b : a }'; }

for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS, 1. request rate: h2load -n $N -c 16 -m 32 -t 1 /" >&2
  for s in $SERVERS; do
    read -r r m < <(run "$s" "http://127.0.0.1:${PORT[$s]}/" -n "$N" -c 16 -m 32 -t 1)
    REQ[$s.rate]=$(best "${REQ[$s.rate]:-}" "$r")
  done
  echo "== round $round/$ROUNDS, 2. download: h2load -n 4 -c 1 -m 1 -t 1 /bytes/$BIG" >&2
  for s in $SERVERS; do
    read -r r m < <(run "$s" "http://127.0.0.1:${PORT[$s]}/bytes/$BIG" -n 4 -c 1 -m 1 -t 1)
    MBS[$s.big]=$(best "${MBS[$s.big]:-}" "$m")
  done
done

ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }

echo
echo "h2load figures ($(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); servers single-threaded, side by side; best of $ROUNDS round(s))"
echo "ratios are against nghttpd when it ran"
printf '%-10s %14s %8s %14s %8s %16s\n' server "req/s" ratio "64MiB MB/s" ratio "peak RSS (KiB)"
for s in $SERVERS; do
  printf '%-10s %14s %8s %14s %8s %16s\n' "$s" \
    "${REQ[$s.rate]:--}" "$(ratio "${REQ[$s.rate]:-}" "${REQ[nghttpd.rate]:-}")" \
    "${MBS[$s.big]:--}" "$(ratio "${MBS[$s.big]:-}" "${MBS[nghttpd.big]:-}")" \
    "$(rss "${PID[$s]:-none}")"
done
