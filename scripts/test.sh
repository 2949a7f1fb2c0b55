#!/usr/bin/env bash
# Runs every test project against throw-away local PostgreSQL, Redis and Garnet servers (installed when missing).
# Each project's TRX results land in its own folder, artifacts/test-results/<project>, so that no project's file
# can overwrite another's (their default names are timestamps).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-servers.sh
rm -rf artifacts/test-results
dotnet build SessionStore.sln --configuration Release

status=0
for project in tests/*/*.csproj; do
    grep -q '<IsTestProject>false</IsTestProject>' "$project" && continue
    name=$(basename "$project" .csproj)
    dotnet test --project "$project" --configuration Release --no-build \
        --results-directory "artifacts/test-results/$name" -- --report-xunit-trx || status=$?
done
exit "$status"
