#!/usr/bin/env bash
# The once-proxy benchmark: the same POSTs, measured with wrk against three setups side by side,
#   direct  - the demo upstream itself
#   plain   - the same Jetty proxy servlet with no idempotency (dev.once.proxy.PlainProxy, from
#             once-proxy's test classes: it is not in the jar)
#   once    - once-proxy (OnceFilter in front of that servlet, memory store)
# for three kinds of request: no key, cache hit (one key: every request after the first is a
# replay) and unique key (every request is a first request, stored). The runs are interleaved
# (each run measures every setup and kind once, the setups in a rotating order) and the medians
# of RUNS runs are printed with the ratios once/plain.
#
# Run from the repository root:  bash once-proxy/bench/run-wrk.sh
# Settings (environment): RUNS=5 DURATION=10s WARMUP=15s CONNECTIONS=32 THREADS=2
# BEFORE_JAR=path/to/an/older/once-proxy.jar adds a fourth setup, "before": that jar's once-proxy
# on the same upstream, interleaved with the others, for an A/B of a change in one run.
# It installs wrk with apt-get if it is missing, and builds the jar and the test classes if either
# is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
JAR=once-proxy/target/once-proxy.jar
TEST_CLASSES=once-proxy/target/test-classes
SCRIPT=once-proxy/bench/post.lua
JAVA_OPTS=${JAVA_OPTS:--Xms256m -Xmx512m}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
if [ ! -f "$JAR" ] || [ ! -f "$TEST_CLASSES/dev/once/proxy/PlainProxy.class" ]; then
  mvn -B -ntp -q -pl once-proxy -am package -DskipTests
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME VAR COMMAND...: runs the command in the background, waits for its "listening on URL"
# line and sets VAR to the URL (not through $(...): the pid must be recorded in this shell)
start() {
  local name=$1 var=$2
  shift 2
  "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$WORK/$name.out" 2>/dev/null; then
      printf -v "$var" '%s' "$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$WORK/$name.out" | head -1)"
      return
    fi
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$WORK/$name.err" >&2
  exit 1
}

UPSTREAM= PLAIN= ONCE=
# shellcheck disable=SC2086
start upstream UPSTREAM java $JAVA_OPTS -cp "$JAR" dev.once.proxy.DemoUpstream 127.0.0.1:0
# shellcheck disable=SC2086
start plain PLAIN java $JAVA_OPTS -cp "$JAR:$TEST_CLASSES" dev.once.proxy.PlainProxy \
  --listen 127.0.0.1:0 --upstream "$UPSTREAM"
# shellcheck disable=SC2086
start once ONCE java $JAVA_OPTS -jar "$JAR" --listen 127.0.0.1:0 --upstream "$UPSTREAM"
declare -A URL=([direct]=$UPSTREAM [plain]=$PLAIN [once]=$ONCE)
SETUPS=(direct plain once)
if [ -n "${BEFORE_JAR:-}" ]; then
  BEFORE=
  # shellcheck disable=SC2086
  start before BEFORE java $JAVA_OPTS -jar "$BEFORE_JAR" --listen 127.0.0.1:0 --upstream "$UPSTREAM"
  URL[before]=$BEFORE
  SETUPS+=(before)
fi
COUNT=${#SETUPS[@]}
KINDS=(none hit unique)

# measure SETUP KIND DURATION RUN: one wrk run; appends "SETUP KIND rps p50 p99 requests errors"
measure() {
  local line
  line=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency -s "$SCRIPT" \
    "${URL[$1]}/payments" -- "$2" "run$4-$1" | grep '^RESULT' || true)
  if [ -z "$line" ]; then
    echo "wrk gave no result for $1 $2" >&2; exit 1
  fi
  echo "$1 $2 ${line#RESULT }" >>"$WORK/results"
}

echo "setups: direct $UPSTREAM, plain $PLAIN, once $ONCE" >&2
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS runs, warm-up $WARMUP each" >&2
echo "load before: $(uptime)" >&2
for kind in "${KINDS[@]}"; do
  for setup in "${SETUPS[@]}"; do
    measure "$setup" "$kind" "$WARMUP" warm
  done
done
: >"$WORK/results"
for run in $(seq 1 "$RUNS"); do
  for kind in "${KINDS[@]}"; do
    # rotate the order so no setup always runs first or last
    for i in $(seq 0 $((COUNT - 1))); do
      measure "${SETUPS[$(( (i + run) % COUNT ))]}" "$kind" "$DURATION" "$run"
    done
  done
  echo "run $run of $RUNS done; load: $(uptime | sed 's/.*load average: //')" >&2
done
echo "load after: $(uptime)" >&2

awk -v runs="$RUNS" -v setuplist="${SETUPS[*]}" '
function median(list, n,   sorted, i, j, t) {
  for (i = 1; i <= n; i++) sorted[i] = list[i]
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
  return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}
{
  k = $2 " " $1; n[k]++
  rps[k, n[k]] = $3; p50[k, n[k]] = $4; p99[k, n[k]] = $5; errors[k] += $7
}
END {
  split("none hit unique", kinds, " "); count = split(setuplist, setups, " ")
  names["none"] = "no key"; names["hit"] = "cache hit"; names["unique"] = "unique key"
  printf "%-11s %-7s %12s %10s %10s %7s\n", "request", "setup", "requests/s", "p50 ms", "p99 ms", "errors"
  for (a = 1; a <= 3; a++) {
    for (b = 1; b <= count; b++) {
      k = setups[b]; key = kinds[a] " " k; m = n[key]
      for (i = 1; i <= m; i++) { r[i] = rps[key, i]; q[i] = p50[key, i]; s[i] = p99[key, i] }
      med[key, "rps"] = median(r, m); med[key, "p50"] = median(q, m); med[key, "p99"] = median(s, m)
      printf "%-11s %-7s %12.0f %10.2f %10.2f %7d\n", names[kinds[a]], k, med[key, "rps"], med[key, "p50"], med[key, "p99"], errors[key]
    }
  }
  print ""
  printf "%-11s %22s %22s", "request", "once/plain throughput", "once/direct throughput"
  if (count > 3) printf " %22s", "once/before throughput"
  printf "\n"
  for (a = 1; a <= 3; a++) {
    o = kinds[a] " once"; p = kinds[a] " plain"; d = kinds[a] " direct"; f = kinds[a] " before"
    printf "%-11s %22.2f %22.2f", names[kinds[a]], med[o, "rps"] / med[p, "rps"], med[o, "rps"] / med[d, "rps"]
    if (count > 3) printf " %22.2f", med[o, "rps"] / med[f, "rps"]
    printf "\n"
  }
  printf "(medians of %d runs)\n", runs
}' "$WORK/results"
