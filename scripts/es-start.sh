#!/usr/bin/env bash
# Start a single-node Elasticsearch on 127.0.0.1 for tests, benchmarks and local use.
#
# Fetches org.elasticsearch.distribution.integ-test-zip:elasticsearch from Maven Central into a
# cache outside git, unpacks it and starts one node with security off and a small heap. The zip
# has no bundled JDK: 8.x runs on Java 17. The Python client's major version (8) must match.
# Idempotent: a node already started from this cache that answers is left as it is.
# Elasticsearch refuses to run as root: as root (CI), the node runs as the unprivileged user
# $ES_USER (created if missing) with its cache under /var/cache.
#
#   ES_VERSION (8.19.21)  ES_PORT (9200)  ES_HEAP (512m)  ES_HOME (~/.cache/workflowai/elasticsearch)
#   ES_RUN_DIR (data, logs, PID file; $ES_HOME/run-$ES_PORT)  ES_JAVA_HOME (Java 17)
set -euo pipefail

version=${ES_VERSION:-8.19.21}
port=${ES_PORT:-9200}
heap=${ES_HEAP:-512m}
es_user=${ES_USER:-workflowai-es}
if [[ $(id -u) == 0 ]]; then
    default_cache=/var/cache/workflowai/elasticsearch
else
    default_cache=${XDG_CACHE_HOME:-$HOME/.cache}/workflowai/elasticsearch
fi
cache=${ES_HOME:-$default_cache}
repo=${MAVEN_REPO_URL:-https://repo1.maven.org/maven2}
java_home=${ES_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

install_dir="$cache/elasticsearch-$version"
run_dir=${ES_RUN_DIR:-$cache/run-$port}  # data, logs and the PID file
pid_file="$run_dir/es.pid"
url="http://127.0.0.1:$port"

# the integ-test-zip has no rest-root module: GET / answers 405, so probe cluster health
answers() { curl -fsS --max-time 2 "$url/_cluster/health" >/dev/null 2>&1; }

if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null && answers; then
    echo "es-start: already running at $url (pid $(cat "$pid_file"))"
    exit 0
fi

if [[ ! -x "$java_home/bin/java" ]]; then
    echo "es-start: no Java at $java_home (set ES_JAVA_HOME; Elasticsearch 8 needs Java 17+)" >&2
    exit 1
fi
if [[ -f "$pid_file" ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    echo "es-start: pid $(cat "$pid_file") from $pid_file is alive but $url does not answer;" \
        "stop it with scripts/es-stop.sh first" >&2
    exit 1
fi

if [[ ! -x "$install_dir/bin/elasticsearch" ]]; then
    mkdir -p "$cache"
    zip="$cache/elasticsearch-$version.zip"
    if [[ ! -s "$zip" ]]; then
        echo "es-start: downloading Elasticsearch $version integ-test-zip from Maven Central"
        curl -fsSL --retry 3 -o "$zip.part" \
            "$repo/org/elasticsearch/distribution/integ-test-zip/elasticsearch/$version/elasticsearch-$version.zip"
        mv "$zip.part" "$zip"
    fi
    rm -rf "$install_dir.tmp" && mkdir -p "$install_dir.tmp"
    if command -v unzip >/dev/null; then
        (cd "$install_dir.tmp" && unzip -q "$zip")
    else  # python's zipfile drops the exec bits: restore them on the launchers
        python3 -m zipfile -e "$zip" "$install_dir.tmp"
        chmod +x "$install_dir.tmp/elasticsearch-$version/bin/"*
    fi
    mv "$install_dir.tmp/elasticsearch-$version" "$install_dir" && rm -rf "$install_dir.tmp"
fi

mkdir -p "$run_dir/data" "$run_dir/logs"
run_as=()
if [[ $(id -u) == 0 ]]; then
    id "$es_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$es_user"
    chown -R "$es_user" "$install_dir" "$run_dir"
    run_as=(runuser -u "$es_user" --)
fi
rm -f "$pid_file"
"${run_as[@]}" env ES_JAVA_HOME="$java_home" \
    ES_JAVA_OPTS="-Xms$heap -Xmx$heap ${ES_EXTRA_JAVA_OPTS:-}" \
    "$install_dir/bin/elasticsearch" -d -p "$pid_file" \
    -E "cluster.name=workflowai-$port" \
    -E "node.name=workflowai-$port" \
    -E discovery.type=single-node \
    -E network.host=127.0.0.1 \
    -E "http.port=$port" \
    -E transport.port=0 \
    -E "path.data=$run_dir/data" \
    -E "path.logs=$run_dir/logs" \
    -E xpack.security.enabled=false \
    -E xpack.ml.enabled=false \
    -E cluster.routing.allocation.disk.threshold_enabled=false \
    -E action.destructive_requires_name=false \
    >"$run_dir/stdout.log" 2>&1

timeout_s=${ES_START_TIMEOUT:-120}
for _ in $(seq 1 "$timeout_s"); do
    if curl -fsS --max-time 2 "$url/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null 2>&1; then
        echo "es-start: Elasticsearch $version ready at $url (pid $(cat "$pid_file"))"
        exit 0
    fi
    sleep 1
done
echo "es-start: Elasticsearch did not become ready at $url in $timeout_s s; last log lines:" >&2
tail -n 30 "$run_dir/logs/workflowai-$port.log" "$run_dir/stdout.log" 2>/dev/null >&2 || true
exit 1
