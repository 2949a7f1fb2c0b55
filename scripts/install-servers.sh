#!/usr/bin/env bash
# Installs what the tests, the demo and the benchmarks run on, when it is missing: the PostgreSQL and Redis
# server binaries, and `kill` (procps), with which the fault tests hang and resume a server (Debian packages). No server is started or enabled here; each run starts its own throw-away
# servers on free loopback ports. Microsoft Garnet (the garnet-server dotnet tool) goes to artifacts/tools/garnet.
# The Redis Cluster tests use the same redis-server binary in cluster mode, plus redis-cli (Debian: redis-tools, a
# dependency of redis-server) for `--cluster create` and resharding; they need Redis 7 or later (cluster-port).
set -euo pipefail
cd "$(dirname "$0")/.."

garnet_version=2.2.8
garnet_dir=artifacts/tools/garnet
if [ ! -x "$garnet_dir/garnet-server" ]; then
    echo "Installing garnet-server $garnet_version into $garnet_dir ..."
    if ! dotnet tool install --tool-path "$garnet_dir" garnet-server --version "$garnet_version" >/dev/null; then
        echo "Could not install garnet-server; the Garnet tests will try again, and fail on CI without it." >&2
    fi
fi

have_postgres() { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_redis() { command -v redis-server >/dev/null 2>&1; }
have_redis_cli() { command -v redis-cli >/dev/null 2>&1; }
have_kill() { [ -x /bin/kill ] || [ -x /usr/bin/kill ]; }
have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } # the dashboard test's headless browser

redis_major() { redis-server --version | sed -E 's/.* v=([0-9]+).*/\1/'; }
warn_old_redis() {
    if have_redis && [ "$(redis_major)" -lt 7 ]; then
        echo "redis-server $(redis_major).x is older than 7: the Redis Cluster tests need cluster-port (Redis 7+) and will fail." >&2
    fi
}

if have_postgres && have_redis && have_redis_cli && have_kill && have_chromium; then
    warn_old_redis
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL or Redis is missing and this is not a Debian-like system: install the PostgreSQL server" >&2
    echo "(initdb, pg_ctl) and redis-server yourself, or set SESSIONSTORE_TEST_POSTGRES / SESSIONSTORE_TEST_REDIS." >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
packages=()
have_postgres || packages+=(postgresql)
have_redis || packages+=(redis-server)
have_redis_cli || packages+=(redis-tools)
have_kill || packages+=(procps)
have_chromium || packages+=(chromium)
echo "Installing ${packages[*]} ..."
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
warn_old_redis
