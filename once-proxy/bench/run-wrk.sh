#!/usr/bin/env bash
# The once-proxy benchmark: the same POSTs, measured with wrk against these setups side by side,
#   direct  - the upstream itself
#   nginx   - nginx as a plain reverse proxy (one worker, upstream keepalive), when nginx is
#             installed (NGINX=install installs it with apt-get; never needed by the tests)
#   plain   - the same Jetty proxy servlet with no idempotency (dev.once.proxy.PlainProxy, from
#             once-proxy's test classes: it is not in the jar)
#   core    - a plain proxy on Jetty's core ProxyHandler, no servlet layer (dev.once.proxy.CoreProxy,
#             from the test classes with jetty-proxy from the local Maven repository: the gate
#             experiment of issue 17)
#   jetty   - a Jetty core server with the proxy's settings answering every request itself, as the
#             upstream does (CoreProxy --answer): the most a Jetty server answers here, the ceiling
#             of once-proxy's replays, which it writes from memory
#   once    - once-proxy (memory store)
# for three kinds of request: no key, cache hit (one key: every request after the first is a
# replay) and unique key (every request is a first request, stored). The upstream is nginx
# answering `return 201` when nginx is there (so the proxies, not the upstream, are measured),
# else once-proxy's demo upstream. The runs are interleaved (each run measures every setup and
# kind once, the setups in a rotating order); the table gives the medians over the runs, and the
# ratios are medians of the ratios within each run, so a drift of the machine between runs
# cancels out. The proxies' resident memory (VmRSS) is read idle, before any load, and after the
# last run.
#
# Run from the repository root:  bash once-proxy/bench/run-wrk.sh   (or: make bench-proxy)
# Settings (environment): RUNS=5 DURATION=10s WARMUP=15s CONNECTIONS=32 THREADS=2; JAVA_OPTS is
# added after the launcher's sidecar settings, which every JVM of the run gets
# PIN=1 pins every server (proxies and upstream) to CPU 0 and wrk to CPU 1 (taskset), with
# THREADS=1 CONNECTIONS=16 unless set: the setting make bench-proxy uses.
# BEFORE_JAR=path/to/an/older/once-proxy.jar adds a setup, "before": that jar's once-proxy on the
# same upstream, interleaved with the others, for an A/B of a change in one run.
# OUT=file also writes the table there (Markdown).
# MAVEN_REPO=dir is the local Maven repository CoreProxy's jetty-proxy jar is taken from
# (~/.m2/repository unless set).
# KINDS="none unique" measures only those kinds of request (none, hit, unique).
# TTL=10s is the once-proxies' --ttl: short enough that a unique-key run never fills the memory
# store's 500,000 records (a full store answers 503 store-full at once, which wrk counts as fast
# errors), long enough for every replay of the run.
# PROFILE="plain once" runs those setups' JVMs under async-profiler 4.1 (fetched from Maven
# Central into once-proxy/target/async-profiler; CPU samples, or itimer where perf events are
# not allowed) for the whole run, and prints where their time went: the top frames by own time
# and the share of each layer (their collapsed stacks are kept in once-proxy/target/profile-*).
# It installs wrk with apt-get if it is missing, and builds the jar and the test classes if either
# is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."

PIN=${PIN:-0}
if [ "$PIN" = 1 ]; then
  THREADS=${THREADS:-1}
  CONNECTIONS=${CONNECTIONS:-16}
  SERVER_CPU=(taskset -c 0)
  LOAD_CPU=(taskset -c 1)
else
  SERVER_CPU=()
  LOAD_CPU=()
fi
RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-15s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
JAR=once-proxy/target/once-proxy.jar
TEST_CLASSES=once-proxy/target/test-classes
SCRIPT=once-proxy/bench/post.lua
# every JVM runs with the launcher's sidecar settings (once-proxy/bin/once-proxy), then JAVA_OPTS
SIDECAR_OPTS=$(sed -n 's/^DEFAULT_JAVA_OPTS="\(.*\)"$/\1/p' once-proxy/bin/once-proxy)
JAVA_OPTS=${JAVA_OPTS:-}
PROFILE=${PROFILE:-}
read -r -a KINDS <<<"${KINDS:-none hit unique}"
TTL=${TTL:-10s}
OUT=${OUT:-}

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
if [ "${NGINX:-}" = install ] && ! command -v nginx >/dev/null 2>&1; then
  echo "installing nginx" >&2
  apt-get update -qq >/dev/null && apt-get install -y -qq nginx >/dev/null
fi
if [ ! -f "$JAR" ] || [ ! -f "$TEST_CLASSES/dev/once/proxy/PlainProxy.class" ] \
  || [ ! -f "$TEST_CLASSES/dev/once/proxy/CoreProxy.class" ]; then
  mvn -B -ntp -q -pl once-proxy -am package -DskipTests
fi

# CoreProxy's one dependency beyond the jar: jetty-proxy (test scope), of the build's Jetty version
JETTY_VERSION=$(sed -n 's:.*<jetty.version>\(.*\)</jetty.version>.*:\1:p' pom.xml | head -1)
JETTY_PROXY_JAR=${MAVEN_REPO:-$HOME/.m2/repository}/org/eclipse/jetty/jetty-proxy/$JETTY_VERSION/jetty-proxy-$JETTY_VERSION.jar
if [ ! -f "$JETTY_PROXY_JAR" ]; then
  mvn -B -ntp -q dependency:get -Dartifact="org.eclipse.jetty:jetty-proxy:$JETTY_VERSION" -Dtransitive=false
fi

PROFILER_DIR=once-proxy/target/async-profiler
if [ -n "$PROFILE" ] && [ ! -f "$PROFILER_DIR/linux-x64/libasyncProfiler.so" ]; then
  mvn -B -ntp -q dependency:copy -Dartifact=tools.profiler:async-profiler:4.1:jar:linux-x64 \
    -DoutputDirectory="$PROFILER_DIR" -Dmdep.stripVersion=true
  (cd "$PROFILER_DIR" && unzip -o -q async-profiler-linux-x64.jar 'linux-x64/*')
fi
# agent SETUP: the JVM option that profiles SETUP, if PROFILE names it
agent() {
  case " $PROFILE " in
    *" $1 "*)
      local event=cpu
      [ "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null || echo 3)" -gt 1 ] && event=itimer
      echo "-agentpath:$PWD/$PROFILER_DIR/linux-x64/libasyncProfiler.so=start,event=$event,interval=1ms,collapsed,file=$PWD/once-proxy/target/profile-$1.collapsed"
      ;;
  esac
}

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start NAME VAR COMMAND...: runs the command in the background, waits for its "listening on URL"
# line and sets VAR to the URL (not through $(...): the pid must be recorded in this shell)
declare -A PID
start() {
  local name=$1 var=$2
  shift 2
  "${SERVER_CPU[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  PID[$name]=$!
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

# start_nginx NAME VAR PORT SERVER_BLOCK: an nginx of one worker in the foreground
start_nginx() {
  local name=$1 var=$2 port=$3 block=$4
  mkdir -p "$WORK/$name"
  cat >"$WORK/$name/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/$name/nginx.pid;
error_log $WORK/$name/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/$name/body;
  proxy_temp_path $WORK/$name/proxy;
  fastcgi_temp_path $WORK/$name/fastcgi;
  uwsgi_temp_path $WORK/$name/uwsgi;
  scgi_temp_path $WORK/$name/scgi;
  $block
}
EOF
  "${SERVER_CPU[@]}" nginx -p "$WORK/$name" -c "$WORK/$name/nginx.conf" \
    >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  PID[$name]=$!
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then
      printf -v "$var" 'http://127.0.0.1:%s' "$port"
      return
    fi
    sleep 0.1
  done
  echo "$name did not start:" >&2
  cat "$WORK/$name.err" "$WORK/$name/error.log" >&2 || true
  exit 1
}

rss_mib() {
  awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"
}

UPSTREAM= PLAIN= CORE= JETTY= ONCE= NGINX_PROXY=
SETUPS=(direct)
if command -v nginx >/dev/null 2>&1; then
  port=$(free_port)
  start_nginx upstream UPSTREAM "$port" "server { listen 127.0.0.1:$port; default_type application/json; location / { return 201 '{\"id\":1}'; } }"
  UPSTREAM_KIND="nginx return 201"
  proxy_port=$(free_port)
  start_nginx nginx NGINX_PROXY "$proxy_port" "upstream up { server ${UPSTREAM#http://}; keepalive 64; }
  server { listen 127.0.0.1:$proxy_port; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
  SETUPS+=(nginx)
else
  # shellcheck disable=SC2086
  start upstream UPSTREAM java $SIDECAR_OPTS $JAVA_OPTS -cp "$JAR" dev.once.proxy.DemoUpstream 127.0.0.1:0
  UPSTREAM_KIND="once-proxy's demo upstream"
fi
# shellcheck disable=SC2086
start plain PLAIN java $SIDECAR_OPTS $JAVA_OPTS $(agent plain) -cp "$JAR:$TEST_CLASSES" dev.once.proxy.PlainProxy \
  --listen 127.0.0.1:0 --upstream "$UPSTREAM"
# shellcheck disable=SC2086
start core CORE java $SIDECAR_OPTS $JAVA_OPTS $(agent core) -cp "$JAR:$TEST_CLASSES:$JETTY_PROXY_JAR" dev.once.proxy.CoreProxy \
  --listen 127.0.0.1:0 --upstream "$UPSTREAM"
# shellcheck disable=SC2086
start jetty JETTY java $SIDECAR_OPTS $JAVA_OPTS -cp "$JAR:$TEST_CLASSES:$JETTY_PROXY_JAR" dev.once.proxy.CoreProxy \
  --listen 127.0.0.1:0 --answer
# shellcheck disable=SC2086
start once ONCE env JAVA_OPTS="$JAVA_OPTS $(agent once)" ONCE_PROXY_JAR="$JAR" once-proxy/bin/once-proxy \
  --listen 127.0.0.1:0 --upstream "$UPSTREAM" --ttl "$TTL"
declare -A URL=([direct]=$UPSTREAM [plain]=$PLAIN [core]=$CORE [jetty]=$JETTY [once]=$ONCE [nginx]=$NGINX_PROXY)
SETUPS+=(plain core jetty once)
if [ -n "${BEFORE_JAR:-}" ]; then
  BEFORE=
  # shellcheck disable=SC2086
  start before BEFORE env JAVA_OPTS="$JAVA_OPTS" ONCE_PROXY_JAR="$BEFORE_JAR" once-proxy/bin/once-proxy \
    --listen 127.0.0.1:0 --upstream "$UPSTREAM" --ttl "$TTL"
  URL[before]=$BEFORE
  SETUPS+=(before)
fi
COUNT=${#SETUPS[@]}
sleep 1
IDLE_ONCE=$(rss_mib "${PID[once]}")
IDLE_PLAIN=$(rss_mib "${PID[plain]}")
IDLE_CORE=$(rss_mib "${PID[core]}")

# measure SETUP KIND DURATION RUN: one wrk run; appends "RUN SETUP KIND rps p50 p99 requests errors"
measure() {
  local line
  line=$("${LOAD_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$3" --latency -s "$SCRIPT" \
    "${URL[$1]}/payments" -- "$2" "run$4-$1" | grep '^RESULT' || true)
  if [ -z "$line" ]; then
    echo "wrk gave no result for $1 $2" >&2; exit 1
  fi
  echo "$4 $1 $2 ${line#RESULT }" >>"$WORK/results"
}

echo "setups: ${SETUPS[*]}; upstream: $UPSTREAM_KIND" >&2
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS runs, warm-up $WARMUP each, pinned: $PIN" >&2
LOAD_BEFORE=$(uptime)
echo "load before: $LOAD_BEFORE" >&2
: >"$WORK/results"
for kind in "${KINDS[@]}"; do
  for setup in "${SETUPS[@]}"; do
    measure "$setup" "$kind" "$WARMUP" 0
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
LOAD_AFTER=$(uptime)
echo "load after: $LOAD_AFTER" >&2
LOADED_ONCE=$(rss_mib "${PID[once]}")
LOADED_PLAIN=$(rss_mib "${PID[plain]}")
LOADED_CORE=$(rss_mib "${PID[core]}")

table=$(awk -v runs="$RUNS" -v setuplist="${SETUPS[*]}" -v kindlist="${KINDS[*]}" '
function median(list, n,   sorted, i, j, t) {
  for (i = 1; i <= n; i++) sorted[i] = list[i]
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (sorted[j] < sorted[i]) { t = sorted[i]; sorted[i] = sorted[j]; sorted[j] = t }
  return n % 2 ? sorted[(n + 1) / 2] : (sorted[n / 2] + sorted[n / 2 + 1]) / 2
}
{
  k = $3 " " $2; n[k]++
  rps[k, n[k]] = $4; p50[k, n[k]] = $5; p99[k, n[k]] = $6; errors[k] += $8
  byrun[$1, k] = $4; seen[$1] = 1
}
# ratio(KIND, A, B): the median over runs of A/B within each run
function ratio(kind, a, b,   r, m, run) {
  m = 0
  for (run in seen) if (byrun[run, kind " " b] > 0) r[++m] = byrun[run, kind " " a] / byrun[run, kind " " b]
  return m ? median(r, m) : 0
}
END {
  nk = split(kindlist, kinds, " "); count = split(setuplist, setups, " ")
  for (b = 1; b <= count; b++) has[setups[b]] = 1
  names["none"] = "no key"; names["hit"] = "cache hit"; names["unique"] = "unique key"
  printf "| request | setup | requests/s | p50 ms | p99 ms | errors |\n|---|---|---:|---:|---:|---:|\n"
  for (a = 1; a <= nk; a++) {
    for (b = 1; b <= count; b++) {
      k = setups[b]; key = kinds[a] " " k; m = n[key]
      for (i = 1; i <= m; i++) { r[i] = rps[key, i]; q[i] = p50[key, i]; s[i] = p99[key, i] }
      printf "| %s | %s | %.0f | %.2f | %.2f | %d |\n", names[kinds[a]], k, median(r, m), median(q, m), median(s, m), errors[key]
    }
  }
  print ""
  header = "| request | once/plain | once/direct"
  if (has["nginx"]) header = header " | once/nginx | plain/nginx | core/nginx | once/core | jetty/nginx | once/jetty"
  if (has["before"]) header = header " | once/before"
  print header " |"
  line = "|---|---:|---:"
  if (has["nginx"]) line = line "|---:|---:|---:|---:|---:|---:"
  if (has["before"]) line = line "|---:"
  print line "|"
  for (a = 1; a <= nk; a++) {
    kd = kinds[a]
    printf "| %s | %.2f | %.2f", names[kd], ratio(kd, "once", "plain"), ratio(kd, "once", "direct")
    if (has["nginx"]) printf " | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f", ratio(kd, "once", "nginx"), ratio(kd, "plain", "nginx"), ratio(kd, "core", "nginx"), ratio(kd, "once", "core"), ratio(kd, "jetty", "nginx"), ratio(kd, "once", "jetty")
    if (has["before"]) printf " | %.2f", ratio(kd, "once", "before")
    printf " |\n"
  }
  printf "\n(medians of %d runs; ratios are medians of the ratios within each run)\n", runs
}' "$WORK/results")
report="$table

upstream: $UPSTREAM_KIND; wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $RUNS runs, warm-up $WARMUP; pinned (servers CPU 0, wrk CPU 1): $PIN; once-proxy --ttl $TTL; JVM options: $SIDECAR_OPTS $JAVA_OPTS
resident memory (VmRSS, MiB): once-proxy idle $IDLE_ONCE, after the runs $LOADED_ONCE; PlainProxy idle $IDLE_PLAIN, after the runs $LOADED_PLAIN; CoreProxy idle $IDLE_CORE, after the runs $LOADED_CORE
load before: $LOAD_BEFORE
load after: $LOAD_AFTER"
echo "$report"
if [ -n "$OUT" ]; then
  mkdir -p "$(dirname "$OUT")"
  echo "$report" >"$OUT"
  echo "written to $OUT" >&2
fi

# the profiles: stop the profiled JVMs (the agent writes its file at exit), then summarize
# summarize FILE: where a profile's samples went: each sample's own time goes to the layer of the
# innermost Java frame of its stack (native code called from Java counts for that Java frame,
# so writev under sun/nio/ch is socket I/O; a stack without a Java frame is the JVM's own work:
# the JIT compilers, the collector), then the top frames by own time
summarize() {
  awk '
  function layer(frame) {
    if (frame ~ /^dev\/once\/proxy\/(PlainProxy|UpstreamServlet)/) return "proxy servlet (Jetty AsyncProxyServlet and our subclass)"
    if (frame ~ /^(dev\/once\/proxy\/CoreProxy|org\/eclipse\/jetty\/proxy\/)/) return "proxy handler (Jetty core ProxyHandler and CoreProxy)"
    if (frame ~ /^dev\/once\//) return "once (engine, filter, store, keyed call)"
    if (frame ~ /^org\/eclipse\/jetty\/client\//) return "Jetty HTTP client (to the upstream)"
    if (frame ~ /^org\/eclipse\/jetty\/ee10\/proxy\//) return "proxy servlet (Jetty AsyncProxyServlet and our subclass)"
    if (frame ~ /^org\/eclipse\/jetty\/ee10\//) return "servlet layer"
    if (frame ~ /^org\/eclipse\/jetty\/(http|server)\//) return "Jetty server (HTTP parse, generate, handle)"
    if (frame ~ /^org\/eclipse\/jetty\//) return "Jetty I/O, threads, buffers"
    if (frame ~ /^(sun\/nio\/ch|java\/nio\/channels)\//) return "socket I/O (system calls)"
    if (frame ~ /^com\/github\/benmanes\/caffeine\//) return "once (engine, filter, store, keyed call)"
    if (frame ~ /^(java|jdk|sun)\//) return "JDK (collections, locks, strings, security)"
    return "other Java"
  }
  {
    count = $NF; stack = substr($0, 1, length($0) - length($NF) - 1); total += count
    n = split(stack, frames, ";"); self[frames[n]] += count
    where = "JVM (JIT compilers, collector, runtime)"
    for (i = n; i >= 1; i--) if (frames[i] ~ /\//) { where = layer(frames[i]); break }
    layers[where] += count
  }
  END {
    printf "samples: %d\n\nown time by layer (the innermost Java frame of each sample)\n", total
    for (l in layers) printf "%6.1f%%  %s\n", 100 * layers[l] / total, l | "sort -rn"
    close("sort -rn")
    printf "\ntop frames by own time\n"
    for (f in self) printf "%6.1f%%  %s\n", 100 * self[f] / total, f | "sort -rn | head -20"
  }' "$1"
}

profiles() {
for setup in $PROFILE; do
  pid=${PID[$setup]:-}
  [ -n "$pid" ] || continue
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  file=once-proxy/target/profile-$setup.collapsed
  [ -s "$file" ] || { echo "no profile written for $setup" >&2; continue; }
  echo
  echo "## where $setup's CPU time went ($file)"
  summarize "$file"
done
}
if [ -n "$PROFILE" ]; then
  profiles | tee -a "${OUT:-/dev/null}"
fi
