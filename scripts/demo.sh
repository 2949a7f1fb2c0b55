#!/usr/bin/env bash
# Runs the sample application on http://127.0.0.1:5080, against a throw-away local PostgreSQL server unless
# SessionStore__Postgres__ConnectionString is set. Stop it with Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-servers.sh
dotnet run --project samples/SessionStore.Sample --configuration Release
