#!/usr/bin/env bash
# Runs every test project against throw-away local PostgreSQL, Redis and Garnet servers (installed when missing).
# TRX results land in artifacts/test-results.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-servers.sh
rm -rf artifacts/test-results
dotnet test SessionStore.sln --configuration Release --results-directory artifacts/test-results -- --report-xunit-trx
