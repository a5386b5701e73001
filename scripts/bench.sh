#!/usr/bin/env bash
# make bench: our Go server against the Node reference server (compat-tests/reference/server.js),
# same machine, same load, loopback only. Builds bin/server and bin/loadgen, starts a private
# redis-server, creates sessions with the real Node express-session app, then runs every scenario
# against a FRESH server per run, interleaved (go, node, go, node, ...) for BENCH_ROUNDS rounds,
# and prints a table of medians, spreads (min-max) and go/node ratios.
#
# Env: BENCH_N (websocket clients, default 10000), BENCH_POLL_N (polling clients, default 2000),
#      BENCH_ECHO_N (echo clients, default 100), BENCH_ROUNDS (default 5),
#      BENCH_DURATION (fanout/echo measuring time, default 10s), BENCH_OUT (results dir,
#      default test-output/bench), BENCH_SCENARIOS (space-separated subset of the names below),
#      BENCH_LOADGEN_ARGS (extra loadgen flags for every run, e.g. "-concurrency 300"),
#      BENCH_PROFILE (set: CPU profiles of the load generator and of the Go server during the
#      fan-out scenarios, in BENCH_OUT as *.prof).
#
# Both servers run with SESSION_STORE=redis and REDIS_URL set (so both use their Redis adapter
# and Redis limiters), with RATE_LIMIT_MAX and MAX_SUBSCRIPTIONS raised to 1000000: every run
# subscribes every user again, and the default 10 subscribes per user per minute would refuse
# them after a few runs. The limiter checks still run (and cost) on every subscribe.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

N=${BENCH_N:-10000}
POLL_N=${BENCH_POLL_N:-2000}
ECHO_N=${BENCH_ECHO_N:-100}
ROUNDS=${BENCH_ROUNDS:-5}
DUR=${BENCH_DURATION:-10s}
OUT=${BENCH_OUT:-test-output/bench}
SCENARIOS=${BENCH_SCENARIOS:-"idle-ws fanout-ws fanout10k-ws echo-ws connect-poll fanout-poll"}
SECRET=bench-secret
TOKEN=bench-emit-token

ulimit -n "$(ulimit -Hn)"
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

echo "building bin/server, bin/loadgen" >&2
go build -o bin/server ./cmd/server
go build -o bin/loadgen ./cmd/loadgen

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

REDIS_PID=""
SERVER_PID=""
cleanup() {
  [ -n "$SERVER_PID" ] && kill -9 "$SERVER_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --maxclients 1000 \
  --logfile "$OUT/redis.log" &
REDIS_PID=$!
for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

SESSIONS="$OUT/sessions.jsonl"
COUNT=$(( N > POLL_N ? N : POLL_N ))
COUNT=$(( COUNT > ECHO_N ? COUNT : ECHO_N ))
node scripts/bench/sessions.js "$REDIS_URL" "$COUNT" "$SECRET" "$SESSIONS"

# start_server <go|node>: a fresh server on a free port; sets SERVER_PID and PORT.
start_server() {
  PORT=$(free_port)
  local -a cmd
  if [ "$1" = go ]; then cmd=(bin/server); else cmd=(node compat-tests/reference/server.js); fi
  local pprof=()
  if [ -n "${BENCH_PROFILE:-}" ] && [ "$1" = go ]; then
    PPROF_ADDR=127.0.0.1:$(free_port)
    pprof=(PPROF_ADDR="$PPROF_ADDR")
  fi
  env "${pprof[@]}" SESSION_STORE=redis REDIS_URL="$REDIS_URL" SESSION_SECRET="$SECRET" EMIT_TOKEN="$TOKEN" \
    RATE_LIMIT_MAX=1000000 MAX_SUBSCRIPTIONS=1000000 SHUTDOWN_GRACE_MS=100 LOG_LEVEL=warn \
    HOST=127.0.0.1 PORT="$PORT" "${cmd[@]}" >>"$OUT/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 200); do
    curl -sf "http://127.0.0.1:$PORT/health/websocket" >/dev/null 2>&1 && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { echo "$1 server exited at startup, see $OUT/server-$1.log" >&2; return 1; }
    sleep 0.05
  done
  echo "$1 server did not become healthy" >&2
  return 1
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
  kill -9 "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

# profile_server <name>: with BENCH_PROFILE set, a 5 s CPU profile of the Go server (PPROF_ADDR),
# taken 6 s after the start (10,000 clients connect in about 4 s here), while the fan-out runs.
profile_server() {
  sleep 6
  curl -sf -o "$OUT/server-$1.prof" "http://$PPROF_ADDR/debug/pprof/profile?seconds=5" || true
}

# args of each scenario name
scenario_args() {
  case "$1" in
    connect-ws)   echo "-scenario connect -transport websocket -n $N" ;;
    idle-ws)      echo "-scenario idle -transport websocket -n $N -settle 3s" ;;
    fanout-ws)    echo "-scenario fanout -transport websocket -n $N -duration $DUR" ;;
    fanout10k-ws) echo "-scenario fanout -transport websocket -n $N -duration $DUR -rate $(python3 -c "print(10000/$N)")" ;;
    echo-ws)      echo "-scenario echo -transport websocket -n $ECHO_N -duration $DUR" ;;
    connect-poll) echo "-scenario connect -transport polling -n $POLL_N" ;;
    idle-poll)    echo "-scenario idle -transport polling -n $POLL_N -settle 3s" ;;
    fanout-poll)  echo "-scenario fanout -transport polling -n $POLL_N -duration $DUR" ;;
    *) echo "unknown scenario $1" >&2; return 1 ;;
  esac
}

start=$(date +%s)
for round in $(seq "$ROUNDS"); do
  for sc in $SCENARIOS; do
    args=$(scenario_args "$sc")
    for target in go node; do
      start_server "$target"
      prof=() profpid=""
      if [ -n "${BENCH_PROFILE:-}" ] && [[ $sc == fanout* ]]; then
        prof=(-cpuprofile "$OUT/loadgen-$target-$sc-$round.prof")
        if [ "$target" = go ]; then profile_server "$sc-$round" & profpid=$!; fi
      fi
      line=$(bin/loadgen -url "http://127.0.0.1:$PORT" -pid "$SERVER_PID" -sessions "$SESSIONS" \
        -emit-token "$TOKEN" -deadline 150s -label "$target $sc $round" "${prof[@]}" $args ${BENCH_LOADGEN_ARGS:-}) || true
      [ -z "$profpid" ] || wait "$profpid" || true
      stop_server
      [ -n "$line" ] || line="{\"label\":\"$target $sc $round\",\"error\":\"loadgen printed nothing\"}"
      echo "$line" >> "$RESULTS"
      echo "[$(( $(date +%s) - start ))s] round $round $sc $target: ${line:0:200}" >&2
    done
  done
done

node scripts/bench/table.js "$RESULTS" | tee "$OUT/table.md"
