#!/usr/bin/env bash
# The read benchmark, side by side with its peers (benches/README.md):
#   benches/run.sh            # TPC-H lineitem at SF 0.1, 5 repetitions
#   SF=1 REPS=5 benches/run.sh
#   FULL=1 benches/run.sh     # also the whole Lambda path (IPC, AES-GCM, S3 PutObject, JSON)
#                             #   against s3s-fs on loopback
#   BENCH_PROFILE=dev SF=0.01 REPS=1 FULL=1 benches/run.sh
#                             # the smoke run scripts/test.sh makes: debug binaries (those the
#                             #   tests built), a tiny scale, no claim about time
# Makes sure of PostgreSQL and MariaDB (scripts/services.sh), a venv with connectorx,
# pyarrow and tpchgen-cli (.venv-bench), the release read-bench binary, and the data
# (generated once per scale into target/bench-data, loaded into bench.lineitem in both).
set -euo pipefail
cd "$(dirname "$0")/.."
SF=${SF:-0.1}
export SF REPS=${REPS:-5}
# A fast S3-compatible server for the full path (moto is too slow to measure against).
S3S_FS_VERSION=0.14.1  # the newest that builds with this toolchain (1.95; 0.15+ need 1.96)

bash scripts/services.sh >&2
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q "connectorx==0.4.6" pyarrow tpchgen-cli >&2
fi
# Built as the workspace is built (same features, so the release tree is shared with every
# other release binary; `-p benches` alone would unify features differently and rebuild it).
export BENCH_PROFILE=${BENCH_PROFILE:-release}
cargo build --profile "$BENCH_PROFILE" --workspace --bin read-bench --bin bootstrap >&2
if [ "${FULL:-0}" = 1 ] && [ ! -x .venv-bench/bin/s3s-fs ]; then
  cargo install --quiet --locked s3s-fs --version "$S3S_FS_VERSION" --features binary --root .venv-bench >&2
fi

data=target/bench-data/sf$SF
if [ ! -s "$data/lineitem.csv" ]; then
  mkdir -p "$data"
  .venv-bench/bin/tpchgen-cli csv -s "$SF" --tables lineitem --output-dir "$data" >&2
fi
csv="$PWD/$data/lineitem.csv"
rows=$(( $(wc -l < "$csv") - 1 ))
export BENCH_ROWS=$rows BENCH_CSV_BYTES=$(stat -c %s "$csv")

ddl="l_orderkey INTEGER NOT NULL, l_partkey INTEGER NOT NULL, l_suppkey INTEGER NOT NULL,
  l_linenumber INTEGER NOT NULL, l_quantity DECIMAL(15,2) NOT NULL, l_extendedprice DECIMAL(15,2) NOT NULL,
  l_discount DECIMAL(15,2) NOT NULL, l_tax DECIMAL(15,2) NOT NULL, l_returnflag CHAR(1) NOT NULL,
  l_linestatus CHAR(1) NOT NULL, l_shipdate DATE NOT NULL, l_commitdate DATE NOT NULL,
  l_receiptdate DATE NOT NULL, l_shipinstruct CHAR(25) NOT NULL, l_shipmode CHAR(10) NOT NULL,
  l_comment VARCHAR(44) NOT NULL, PRIMARY KEY (l_orderkey, l_linenumber)"
export PGPASSWORD=athena
pg="psql -h 127.0.0.1 -U athena -d athena_test -X -q -v ON_ERROR_STOP=1"
if [ "$($pg -tAc "SELECT count(*) FROM bench.lineitem" 2>/dev/null || echo 0)" != "$rows" ]; then
  echo "loading SF $SF into PostgreSQL" >&2
  $pg -c "DROP SCHEMA IF EXISTS bench CASCADE; CREATE SCHEMA bench; CREATE TABLE bench.lineitem ($ddl)"
  $pg -c "\\copy bench.lineitem FROM '$csv' WITH (FORMAT csv, HEADER true)"
  $pg -c "VACUUM (ANALYZE, FREEZE) bench.lineitem"
fi
my="mariadb -h127.0.0.1 -uathena -pathena --local-infile=1"
if [ "$($my -N -e "SELECT count(*) FROM bench.lineitem" 2>/dev/null || echo 0)" != "$rows" ]; then
  echo "loading SF $SF into MariaDB" >&2
  $my -e "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; CREATE TABLE bench.lineitem ($ddl) CHARACTER SET latin1"
  $my bench >&2 -e "SET unique_checks=0; LOAD DATA LOCAL INFILE '$csv' INTO TABLE lineitem FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' IGNORE 1 LINES; ANALYZE TABLE lineitem"
fi
# Two splits: half of each table's size.
export BENCH_SPLIT_BYTES_PG=$(( $($pg -tAc "SELECT pg_table_size('bench.lineitem')") / 2 + 1 ))
export BENCH_SPLIT_BYTES_MY=$(( $($my -N -e "SELECT data_length FROM information_schema.tables WHERE table_schema='bench' AND table_name='lineitem'") / 2 + 1 ))

.venv-bench/bin/python benches/run.py
