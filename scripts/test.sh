#!/usr/bin/env bash
# Runs every test: installs and starts what the tests need (scripts/services.sh), then the
# whole workspace's tests against the real PostgreSQL, MariaDB and moto.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh
export ATHENA_TEST_POSTGRES="postgres://athena:athena@127.0.0.1:5432/athena_test"
export ATHENA_TEST_MYSQL="mysql://athena:athena@127.0.0.1:3306/athena_test"
export ATHENA_TEST_MOTO="$PWD/.venv/bin/moto_server"
export ATHENA_TEST_CARGO_LAMBDA="$PWD/.venv-lambda/bin/cargo-lambda"
cargo test --workspace "$@"
# The benchmark end to end at a tiny scale, with the debug binaries just built: a smoke run
# that checks every reader's row count and claims nothing about time.
if [ $# -eq 0 ]; then
  BENCH_PROFILE=dev SF=0.01 REPS=1 FULL=1 benches/run.sh
fi
