#!/bin/sh
# GO_SERVER_BIN-compatible launcher of node-demo-server.js (exec keeps the pid, so SIGKILL reaches node).
exec node "$(dirname "$0")/node-demo-server.js"
