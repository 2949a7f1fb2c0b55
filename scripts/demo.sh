#!/usr/bin/env bash
# The demo: a migration rehearsal. Seeds sessions through Microsoft's RedisCache, then drives the sample app
# through every phase from RedisOnly to PostgresOnly and back, switching live, and prints per phase what was
# lost (nothing), mismatched and repaired, and each store's latency. Throw-away local PostgreSQL and Redis
# servers are used unless SessionStore__Postgres__ConnectionString / SessionStore__Redis__Configuration are set.
# Exits non-zero when a session was lost. Arguments go to the rehearsal, e.g. --read-only 500 --modified 500.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-servers.sh
dotnet run --project samples/SessionStore.Rehearsal --configuration Release -- "$@"
