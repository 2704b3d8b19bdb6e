#!/bin/sh
# Reproduce the performance table: build each dataset in its own database, measure, summarise.
#   bench/run.sh 1k 10k 100k        (default: 1k 10k 100k)
#   LOAD=1 bench/run.sh 100k        (also gunicorn + wrk, 30 s per page)
#   MORNING=1 bench/run.sh 100k     (also the mixed morning: req/s per core, app/database CPU)
# Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and, for LOAD=1, wrk (apt-get install -y wrk).
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PGURL=${PGURL:-postgres://postgres@127.0.0.1:5432}
DB=${DB:-climcrm_bench}
export SECRET_KEY=${SECRET_KEY:-bench-only-secret-key-not-for-production}
[ $# -gt 0 ] || set -- 1k 10k 100k
psql "$PGURL/postgres" -qc "CREATE DATABASE $DB" 2>/dev/null || true
for size in "$@"; do
    export DATABASE_URL="$PGURL/$DB"
    DEBUG=0 $PY manage.py migrate -v0
    DEBUG=0 $PY manage.py build_dataset --size "$size" --reset
    DEBUG=0 $PY manage.py bench_pages --requests "${REQUESTS:-20}"
    if [ "${LOAD:-0}" = 1 ]; then
        DEBUG=0 $PY manage.py bench_pages --load --duration "${DURATION:-30}"
    fi
    if [ "${MORNING:-0}" = 1 ]; then
        DEBUG=0 $PY manage.py bench_pages --morning --duration "${DURATION:-60}"
    fi
done
DEBUG=0 $PY manage.py bench_pages --summary
