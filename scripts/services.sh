#!/usr/bin/env bash
# Makes sure what the tests need is installed and running, and reuses whatever already is:
#   PostgreSQL on 127.0.0.1:5432 and MariaDB on 127.0.0.1:3306, each with a test user
#   athena/athena owning database athena_test, and a Python venv (.venv) with moto[server]
#   (the AWS API stand-in the tests start on a free port of their own) and sqlglot, and a venv
#   (.venv-lambda) with cargo-lambda, whose local Lambda Runtime API runs the built Lambda.
# Debian, as root. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[services] %s\n' "$*" >&2; }
apt_updated=
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() { # wait_for NAME COMMAND...
  local name=$1; shift
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$name did not become ready"; return 1
}

# --- PostgreSQL ---------------------------------------------------------------------------
if ! command -v pg_ctlcluster >/dev/null; then
  log "installing PostgreSQL"; apt_install postgresql
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 postgres <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'athena') THEN
    CREATE ROLE athena LOGIN SUPERUSER PASSWORD 'athena';
  END IF;
END $$;
SQL
if ! runuser -u postgres -- psql -tAc "SELECT 1 FROM pg_database WHERE datname = 'athena_test'" postgres | grep -q 1; then
  runuser -u postgres -- createdb -O athena athena_test
fi
# Members of athena_password_auth must log in with their password even where the server
# trusts local connections, so credential tests (rotation, wrong passwords) mean something.
runuser -u postgres -- psql -q postgres -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'athena_password_auth') THEN CREATE ROLE athena_password_auth NOLOGIN; END IF; END \$\$;"
hba=$(runuser -u postgres -- psql -tAc "SHOW hba_file" postgres)
if ! grep -q '+athena_password_auth' "$hba"; then
  printf 'host all +athena_password_auth 127.0.0.1/32 scram-sha-256\nhost all +athena_password_auth ::1/128 scram-sha-256\n' | cat - "$hba" > "$hba.new"
  chown --reference="$hba" "$hba.new" && chmod --reference="$hba" "$hba.new" && mv "$hba.new" "$hba"
  runuser -u postgres -- psql -q postgres -c "SELECT pg_reload_conf()" >/dev/null
fi
log "PostgreSQL ready on 127.0.0.1:5432"

# --- MariaDB ------------------------------------------------------------------------------
if ! command -v mariadbd >/dev/null; then
  log "installing MariaDB"; apt_install mariadb-server
fi
if ! mariadb-admin ping -h 127.0.0.1 -P 3306 --silent >/dev/null 2>&1; then
  log "starting MariaDB"
  install -d -o mysql -g mysql /run/mysqld
  [ -d /var/lib/mysql/mysql ] || mariadb-install-db --user=mysql >/dev/null
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql --bind-address=127.0.0.1
  wait_for MariaDB mariadb-admin ping -h 127.0.0.1 -P 3306 --silent
fi
mariadb -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS athena_test;
CREATE USER IF NOT EXISTS 'athena'@'%' IDENTIFIED BY 'athena';
CREATE USER IF NOT EXISTS 'athena'@'localhost' IDENTIFIED BY 'athena';
GRANT ALL PRIVILEGES ON *.* TO 'athena'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'athena'@'localhost' WITH GRANT OPTION;
SQL
log "MariaDB ready on 127.0.0.1:3306"

# --- moto (AWS APIs) ----------------------------------------------------------------------
# Pinned: botocore 1.44.18 describes Athena as rest-json, which moto 5.2.6 does not route
# (every Athena call, which the SDK still sends as awsJson1_1, answers 404).
MOTO_VERSION=5.2.6 BOTOCORE_VERSION=1.44.8
if [ "$(.venv/bin/python -c "import botocore, moto; print(moto.__version__, botocore.__version__)" 2>/dev/null)" \
     != "$MOTO_VERSION $BOTOCORE_VERSION" ]; then
  log "installing moto[server] $MOTO_VERSION with botocore $BOTOCORE_VERSION into .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    "boto3==$BOTOCORE_VERSION" "botocore==$BOTOCORE_VERSION"
fi
if ! .venv/bin/python -c "import sqlglot" 2>/dev/null; then
  log "installing sqlglot into .venv (checks generated SQL Server and Oracle statements)"
  .venv/bin/pip install -q --disable-pip-version-check sqlglot
fi
log "moto server available at .venv/bin/moto_server"

# --- cargo-lambda (Lambda Runtime API emulator; release builds of the Lambda) -------------
if [ ! -x .venv-lambda/bin/cargo-lambda ]; then
  log "installing cargo-lambda into .venv-lambda"
  python3 -m venv .venv-lambda
  .venv-lambda/bin/pip install -q --disable-pip-version-check cargo-lambda
fi
log "cargo-lambda available at .venv-lambda/bin/cargo-lambda"

# --- SAM CLI and cfn-lint (template checks, offline) --------------------------------------
if [ ! -x .venv-sam/bin/sam ] || [ ! -x .venv-sam/bin/cfn-lint ]; then
  log "installing aws-sam-cli and cfn-lint into .venv-sam"
  python3 -m venv .venv-sam
  .venv-sam/bin/pip install -q --disable-pip-version-check aws-sam-cli cfn-lint
fi
log "sam and cfn-lint available in .venv-sam/bin"

# --- asl-validator (state machine definitions) -------------------------------------------
if [ ! -x .node/node_modules/.bin/asl-validator ]; then
  log "installing asl-validator into .node"
  npm install --prefix .node --no-audit --no-fund --silent asl-validator >/dev/null
fi
log "asl-validator available at .node/node_modules/.bin/asl-validator"
