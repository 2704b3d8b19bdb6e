#!/usr/bin/env bash
# Every migration applies and reverses: migrate forward on a scratch database, back to zero
# app by app, and forward again.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="$(mktemp -d)/migrations.sqlite3"
export DATABASE_URL="sqlite:///${scratch}" CLIMCRM_TESTING=1
py=.venv/bin/python
$py manage.py migrate --no-input -v 0
for app in integrations pipeline_reviews forecasting partners privacy activities leads opportunities accounts climcrm; do
  if compgen -G "${app}/migrations/0001_*.py" >/dev/null; then
    $py manage.py migrate "$app" zero --no-input -v 0
  fi
done
$py manage.py migrate --no-input -v 0
rm -f "$scratch"
echo "Migrations apply, reverse and apply again."
