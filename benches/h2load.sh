#!/usr/bin/env bash
# Side-by-side benchmark: h2actor's examples/server against three anchors,
# all started at once in the same run, all on 127.0.0.1, all with 2 server
# threads, driven by h2load with one client thread (-t 1):
#
#   ours     target/release/examples/server --threads 2 (2 actix arbiters)
#   h2       target/release/examples/h2_anchor --threads 2 (the h2 crate, tokio, 2 workers)
#   nghttpd  nghttpd --no-tls -n 2 (nghttp2's server, 2 workers)
#   h2o      h2o (Debian 2.2.5) with num-threads: 2, file.dir, no access log
#   before   $BEFORE_BIN --threads 2 (an older examples/server; not by default)
#
# Each workload runs ROUNDS times; within a round every server runs once, one
# after the other (interleaved, so a slow phase of the machine hits all of
# them); the MEDIAN of the rounds is reported.
#
#   benches/h2load.sh                               # everything, 3 rounds
#   WORKLOADS="small c256" ROUNDS=5 benches/h2load.sh
#   SERVERS="ours h2o" N=300000 benches/h2load.sh
#   N=100000 C256_N=50000 DL_BIG=8388608 DL_MID=2097152 UP_SIZE=8388608 \
#     ROUNDS=1 benches/h2load.sh                    # a short trial
#   BEFORE_BIN=../old/target/release/examples/server SERVERS="ours before h2o" \
#     benches/h2load.sh                             # before/after in one run (an
#                                                   # older server without /sink: leave sink out)
#   python3 benches/chart.py target/bench/h2load-*.tsv   # the chart
#
# Workloads (WORKLOADS; "download" and "upload" name both of theirs):
#   small    h2load -n $N -c 16 -m 32 /                      (12-byte body; N=1200000)
#   c256     h2load -n $C256_N -c 256 -m 1 /                 (C256_N=500000)
#   dl1      h2load -n 4 -c 1 -m 1 /bytes/$DL_BIG            (DL_BIG=64 MiB)
#   dl16     h2load -n 16 -c 16 -m 1 /bytes/$DL_MID          (DL_MID=16 MiB)
#   echo     h2load -n $UP_N -c 1 -m 1 -d FILE /echo         (UP_SIZE=64 MiB, UP_N=4; ours and h2 only)
#   sink     h2load -n $UP_N -c 1 -m 1 -d FILE /sink         (ours and h2 only)
# nghttpd and h2o serve a directory holding index.html ("hello world\n") and
# the files bytes/$DL_BIG and bytes/$DL_MID, so every server answers the same
# URLs; they cannot echo an upload, so they sit the upload workloads out.
#
# Per run: h2load's req/s; MB/s (MiB, as h2load prints: body bytes per
# second for dl*/echo/sink, h2load's whole traffic for small/c256); the
# server's CPU (utime+stime of all its threads, read before and after the
# h2load process: from /proc/PID/task/*/schedstat in ns when no thread came
# or went during the run, else from /proc/PID/stat in clock ticks; column
# cpu_src) as a share of one core over h2load's "finished in" time (200% =
# both threads busy); requests and MB per server
# CPU-second (= rate / (CPU% / 100)); the server's peak RSS during the run
# (VmHWM, reset before each run through /proc/PID/clear_refs where allowed,
# else the process's peak so far). Every h2load run must report 0 failed
# and 0 errored, or the script stops.
#
# Output: a table per workload on stdout, with the ratio of each server to
# each anchor (rate / per CPU-second), and all figures in OUT (TSV, default
# target/bench/h2load-DATE.tsv): "#" lines (date, machine, settings), a
# header, then one line per run (kind=run) and per workload and server the
# medians (kind=median).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-1200000}
C256_N=${C256_N:-500000}
DL_BIG=${DL_BIG:-67108864}
DL_MID=${DL_MID:-16777216}
UP_SIZE=${UP_SIZE:-67108864}
UP_N=${UP_N:-4}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
SERVERS=${SERVERS:-ours h2 nghttpd h2o}
WORKLOADS=${WORKLOADS:-small c256 download upload}
RUN_LIMIT=${RUN_LIMIT:-300}  # seconds per h2load run (timeout)
PORT_BASE=${PORT_BASE:-18480} # ours, h2, nghttpd, h2o, before: PORT_BASE + 0..4
OUT=${OUT:-target/bench/h2load-$(date -u +%Y%m%dT%H%M%SZ).tsv}

command -v h2load >/dev/null || { echo "h2load.sh: h2load is missing (apt-get install nghttp2-client)" >&2; exit 1; }
for s in $SERVERS; do
  case $s in
    nghttpd) command -v nghttpd >/dev/null || { echo "h2load.sh: nghttpd is missing (apt-get install nghttp2-server)" >&2; exit 1; } ;;
    h2o) command -v h2o >/dev/null || { echo "h2load.sh: h2o is missing (apt-get install h2o)" >&2; exit 1; } ;;
  esac
done

# "download" and "upload" stand for both of their workloads.
wl=()
for w in $WORKLOADS; do
  case $w in
    download) wl+=(dl1 dl16) ;;
    upload) wl+=(echo sink) ;;
    small|c256|dl1|dl16|echo|sink) wl+=("$w") ;;
    *) echo "h2load.sh: unknown workload $w (small c256 dl1 dl16 echo sink download upload)" >&2; exit 2 ;;
  esac
done

cargo build --release --example server --example h2_anchor >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
BIN="$TARGET_DIR/release/examples"

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  # At most 5 s for a graceful exit, then SIGKILL.
  for _ in $(seq 50); do
    alive=0
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The document root. h2o started as root drops to the user nobody, which
# must be able to read it (mktemp -d makes it 0700).
chmod 755 "$tmp"
mkdir -p "$tmp/www/bytes"
printf 'hello world\n' > "$tmp/www/index.html"
for size in $DL_BIG $DL_MID; do
  [ -e "$tmp/www/bytes/$size" ] || head -c "$size" /dev/zero | tr '\0' 'a' > "$tmp/www/bytes/$size"
done
head -c "$UP_SIZE" /dev/zero | tr '\0' 'u' > "$tmp/upload"
chmod -R a+rX "$tmp/www"

declare -A PID PORT=([ours]=$PORT_BASE [h2]=$((PORT_BASE + 1)) [nghttpd]=$((PORT_BASE + 2)) [h2o]=$((PORT_BASE + 3)) [before]=$((PORT_BASE + 4)))
for s in $SERVERS; do
  port=${PORT[$s]:?unknown server $s (ours h2 nghttpd h2o before)}
  case $s in
    ours) RUST_LOG=warn "$BIN/server" --addr "127.0.0.1:$port" --threads "$THREADS" 2>"$tmp/ours.log" & ;;
    before) RUST_LOG=warn "${BEFORE_BIN:?BEFORE_BIN=path of an older examples/server}" \
      --addr "127.0.0.1:$port" --threads "$THREADS" 2>"$tmp/before.log" & ;;
    h2) "$BIN/h2_anchor" --addr "127.0.0.1:$port" --threads "$THREADS" 2>"$tmp/h2.log" & ;;
    nghttpd) nghttpd --no-tls -n "$THREADS" -a 127.0.0.1 -d "$tmp/www" "$port" >"$tmp/nghttpd.log" 2>&1 & ;;
    h2o)
      # No access-log directive: no access log. http2-idle-timeout as
      # nghttpd and ours (none that a run could reach).
      cat > "$tmp/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: $port
num-threads: $THREADS
max-connections: 100000
http2-idle-timeout: 600
hosts:
  default:
    paths:
      /:
        file.dir: $tmp/www
EOF
      h2o -c "$tmp/h2o.conf" >"$tmp/h2o.out" 2>&1 & ;;
  esac
  pids+=($!); PID[$s]=$!
done

for s in $SERVERS; do
  port=${PORT[$s]}
  timeout 15 bash -c "until (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; do sleep 0.1; done" \
    || { echo "h2load.sh: $s: nothing listens on port $port" >&2; cat "$tmp/$s".* >&2 || true; exit 1; }
  # Still alive: not another program answering on a port ours could not bind.
  sleep 0.2
  kill -0 "${PID[$s]}" 2>/dev/null \
    || { echo "h2load.sh: $s exited (port $port taken? set PORT_BASE):" >&2; cat "$tmp/$s".* >&2 || true; exit 1; }
done

# utime+stime of every thread of PID (dead ones too), in clock ticks.
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
# The same in ns (/proc/PID/task/*/schedstat: time on CPU per live thread),
# with the thread ids: "IDS NS". Used when the threads are the same before
# and after a run (none died): a bulk run is only 10-30 ticks of CPU.
cpu_ns() {
  echo "$(ls "/proc/$1/task" | sort | tr '\n' ,) $(cat "/proc/$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }')"
}
hwm() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# Resets VmHWM to the current RSS (Linux >= 4.0); quiet where not allowed.
reset_hwm() { echo 5 2>/dev/null > "/proc/$1/clear_refs" || true; }

# workload W: sets URL ARGS BODY (bytes of body per request, 0 = use traffic).
workload() {
  case $1 in
    small) PATH_=/; ARGS=(-n "$N" -c 16 -m 32); BODY=0 ;;
    c256) PATH_=/; ARGS=(-n "$C256_N" -c 256 -m 1); BODY=0 ;;
    dl1) PATH_=/bytes/$DL_BIG; ARGS=(-n 4 -c 1 -m 1); BODY=$DL_BIG ;;
    dl16) PATH_=/bytes/$DL_MID; ARGS=(-n 16 -c 16 -m 1); BODY=$DL_MID ;;
    echo) PATH_=/echo; ARGS=(-n "$UP_N" -c 1 -m 1 -d "$tmp/upload"); BODY=$UP_SIZE ;;
    sink) PATH_=/sink; ARGS=(-n "$UP_N" -c 1 -m 1 -d "$tmp/upload"); BODY=$UP_SIZE ;;
  esac
}
# Servers that can run workload W.
can_run() {
  case $1:$2 in
    echo:nghttpd|echo:h2o|sink:nghttpd|sink:h2o) return 1 ;;
  esac
}

mkdir -p "$(dirname "$OUT")"
{
  echo "# h2load.sh $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "# cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# servers: $SERVERS; threads $THREADS; rounds $ROUNDS; h2load -t 1; $(h2load --version | head -1); $(nghttpd --version 2>/dev/null | head -1); $(h2o --version 2>/dev/null | head -1)"
  echo "# N=$N C256_N=$C256_N DL_BIG=$DL_BIG DL_MID=$DL_MID UP_SIZE=$UP_SIZE UP_N=$UP_N"
  echo "# MB = 2^20 bytes; cpu_pct: server CPU over h2load's time, 100 = one core; *_per_cpu_s: per server CPU-second; peak_rss_kib: VmHWM during the run"
  printf 'kind\tworkload\tserver\tround\trequests\tseconds\treq_s\tmb_s\tcpu_s\tcpu_pct\treq_per_cpu_s\tmb_per_cpu_s\tpeak_rss_kib\tcpu_src\n'
} > "$OUT"

# run W S ROUND: one h2load run, one line to OUT.
run() {
  local w=$1 s=$2 round=$3 pid=${PID[$2]}
  workload "$w"
  local url="http://127.0.0.1:${PORT[$s]}$PATH_" out before after
  reset_hwm "$pid"
  local ns_before ns_after
  ns_before=$(cpu_ns "$pid")
  before=$(ticks "$pid")
  out=$(timeout "$RUN_LIMIT" h2load -t 1 "${ARGS[@]}" "$url" 2>&1) || {
    echo "h2load.sh: h2load ${ARGS[*]} $url against $s failed or timed out:" >&2; echo "$out" >&2; exit 1; }
  after=$(ticks "$pid")
  ns_after=$(cpu_ns "$pid")
  # Server CPU seconds and where they come from.
  local cpu src=stat
  cpu=$(awk -v t=$((after - before)) -v hz="$HZ" 'BEGIN { printf "%.4f", t / hz }')
  if [ "${ns_before% *}" = "${ns_after% *}" ] && [ -n "${ns_after#* }" ] && [ "${ns_after#* }" != 0 ]; then
    cpu=$(awk -v a="${ns_before#* }" -v b="${ns_after#* }" 'BEGIN { printf "%.4f", (b - a) / 1e9 }'); src=schedstat
  fi
  local req fin traffic
  req=$(grep '^requests:' <<<"$out")
  if ! grep -q ' 0 failed, 0 errored' <<<"$req" || ! grep -q "^status codes: [1-9][0-9]* 2xx, 0 3xx, 0 4xx, 0 5xx" <<<"$out"; then
    echo "h2load.sh: h2load against $s had failures:" >&2; echo "$out" >&2; exit 1
  fi
  fin=$(grep '^finished in' <<<"$out")
  traffic=$(sed -n 's/^traffic: .* (\([0-9]*\)) total.*/\1/p' <<<"$out")
  # "finished in 4.08s, 294117.65 req/s, 10.38MB/s" (or 812.34ms)
  awk -v w="$w" -v s="$s" -v r="$round" -v fin="$fin" -v req="$req" -v body="$BODY" \
      -v traffic="$traffic" -v cpu="$cpu" -v src="$src" -v hwm="$(hwm "$pid")" '
    BEGIN {
      split(fin, f, /[ ,]+/); t = f[3];
      if (t ~ /ms$/) { sub(/ms$/, "", t); t /= 1000 } else if (t ~ /us$/) { sub(/us$/, "", t); t /= 1e6 } else sub(/s$/, "", t);
      split(req, q, /[ ,]+/); done = q[6];          # "requests: N total, N started, N done, ..."
      rps = done / t;
      bytes = (body > 0) ? done * body : traffic;
      mbs = bytes / 1048576 / t;
      pct = 100 * cpu / t;
      # Without a measurable server CPU there is no per-CPU figure: NA.
      rpc = (cpu > 0) ? sprintf("%.0f", done / cpu) : "NA"; mpc = (cpu > 0) ? sprintf("%.1f", bytes / 1048576 / cpu) : "NA";
      printf "run\t%s\t%s\t%s\t%d\t%.3f\t%.0f\t%.1f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\n", w, s, r, done, t, rps, mbs, cpu, pct, rpc, mpc, hwm, src
    }' >> "$OUT"
  tail -1 "$OUT" | awk -F'\t' '{ printf "   %-8s %-8s %10s req/s %9s MB/s  CPU %6s%%  %10s req/CPU-s %9s MB/CPU-s  peak RSS %s KiB\n", $2, $3, $7, $8, $10, $11, $12, $13 }' >&2
  [ $src = schedstat ] || [ $((after - before)) -ge 20 ] ||
    echo "   (under 0.2 s of server CPU from /proc/PID/stat: the per-CPU figures are coarse at $HZ ticks/s)" >&2
}

echo "== warm-up: 20000 small requests each" >&2
for s in $SERVERS; do
  timeout 60 h2load -t 1 -n 20000 -c 16 -m 32 "http://127.0.0.1:${PORT[$s]}/" >/dev/null \
    || { echo "h2load.sh: warm-up against $s failed" >&2; exit 1; }
done

for w in "${wl[@]}"; do
  workload "$w"
  for round in $(seq "$ROUNDS"); do
    echo "== $w, round $round/$ROUNDS: h2load -t 1 ${ARGS[*]} $PATH_" >&2
    for s in $SERVERS; do
      can_run "$w" "$s" && run "$w" "$s" "$round"
    done
  done
done

# Medians per workload and server, one column at a time.
awk -F'\t' -v OFS='\t' '
  $1 == "run" { k = $2 SUBSEP $3; if (!(k in n)) order[++m] = k; n[k]++
                for (c = 5; c <= 13; c++) v[k, c, n[k]] = $c }
  # The median of the rounds, NA ones left out (NA if all are).
  function median(k, c,   i, j, a, t, cnt) {
    cnt = 0; for (i = 1; i <= n[k]; i++) if (v[k, c, i] != "NA") a[++cnt] = v[k, c, i] + 0
    if (cnt == 0) return "NA"
    for (i = 2; i <= cnt; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    return (cnt % 2) ? a[(cnt + 1) / 2] : (a[cnt / 2] + a[cnt / 2 + 1]) / 2
  }
  END { for (i = 1; i <= m; i++) { k = order[i]; split(k, ws, SUBSEP)
          line = "median" OFS ws[1] OFS ws[2] OFS n[k]
          for (c = 5; c <= 13; c++) line = line OFS median(k, c)
          print line OFS "-" } }' "$OUT" > "$tmp/medians"
cat "$tmp/medians" >> "$OUT"

# The tables: per workload, each server with its ratio to each anchor
# (rate ratio / per-CPU-second ratio: req for small/c256, MB for the rest).
echo
echo "h2load.sh: medians of $ROUNDS round(s), $(nproc) cores, load average now $(cut -d' ' -f1-3 /proc/loadavg); all figures in $OUT"
anchors=""
for a in nghttpd h2o h2; do case " $SERVERS " in *" $a "*) anchors+="$a " ;; esac; done
for w in "${wl[@]}"; do
  echo
  echo "$w"
  awk -F'\t' -v w="$w" -v anchors="$anchors" '
    function r(a, b) { return (a != "NA" && b != "NA" && a > 0 && b > 0) ? sprintf("%.2f", a / b) : "-" }
    function f(x, d) { return (x == "NA") ? "-" : sprintf("%." d "f", x) }
    $2 == w { s[++n] = $3; rps[$3] = $7; mbs[$3] = $8; pct[$3] = $10; rpc[$3] = $11; mpc[$3] = $12; rss[$3] = $13 }
    END {
      bulk = (w != "small" && w != "c256"); na = split(anchors, an, " ")
      hdr = sprintf("  %-8s %11s %9s %7s %12s %10s %11s", "server", "req/s", "MB/s", "CPU%", "req/CPU-s", "MB/CPU-s", "peak KiB")
      for (j = 1; j <= na; j++) hdr = hdr sprintf(" %13s", "vs " an[j])
      print hdr
      for (i = 1; i <= n; i++) { x = s[i]
        line = sprintf("  %-8s %11.0f %9.1f %7.1f %12s %10s %11d", x, rps[x], mbs[x], pct[x], f(rpc[x], 0), f(mpc[x], 1), rss[x])
        for (j = 1; j <= na; j++) { a = an[j]
          if (bulk) cell = r(mbs[x], mbs[a]) "/" r(mpc[x], mpc[a]); else cell = r(rps[x], rps[a]) "/" r(rpc[x], rpc[a])
          line = line sprintf(" %13s", (a in rps) ? cell : "-") }
        print line }
    }' "$tmp/medians"
done
echo
echo "(ratios: rate/per-server-CPU-second, req for small and c256, MB for downloads and uploads; peak KiB: VmHWM during the median run set, c256's is the peak with 256 busy connections)"
echo "peak RSS of any one run (KiB), and RSS now:"
for s in $SERVERS; do
  printf '  %-8s %10s %10s\n' "$s" \
    "$(awk -F'\t' -v s="$s" '$1 == "run" && $3 == s && $13 > m { m = $13 } END { print m + 0 }' "$OUT")" \
    "$(awk '/VmRSS/ {print $2}' "/proc/${PID[$s]}/status")"
done
