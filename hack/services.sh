#!/usr/bin/env bash
# Starts, stops or checks the local RabbitMQ and PostgreSQL the pipeline and
# its tests use: services.sh start|stop-rabbitmq|start-rabbitmq|stop-postgres|start-postgres|status
set -o errexit -o nounset -o pipefail

# without_inherited_fds runs a command that starts a daemon with every descriptor above 2 closed,
# so that the daemon, which outlives this script, holds none of its caller's files: a lock taken
# with `flock FILE make test` would otherwise stay held by RabbitMQ or PostgreSQL for good.
without_inherited_fds() {
  (
    local fd
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      if ((fd > 2)); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
    done
    "$@"
  )
}

rabbit_up() { rabbitmqctl -q await_startup --timeout 2 >/dev/null 2>&1 || rabbitmq-diagnostics -q check_running >/dev/null 2>&1; }
postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }

start_rabbitmq() {
  if rabbit_up; then return; fi
  echo "services: starting RabbitMQ" >&2
  without_inherited_fds rabbitmq-server -detached >/dev/null 2>&1 || true
  # await_startup gives up at once while the node is still booting, so ask
  # until the node answers, then wait for the broker application.
  for _ in $(seq 1 120); do
    rabbitmqctl -q ping >/dev/null 2>&1 && break
    sleep 1
  done
  rabbitmqctl -q await_startup --timeout 120 >/dev/null
}

stop_rabbitmq() {
  rabbitmqctl -q shutdown >/dev/null 2>&1 || rabbitmqctl -q stop >/dev/null 2>&1 || true
}

start_postgres() {
  if postgres_up; then return; fi
  echo "services: starting PostgreSQL" >&2
  without_inherited_fds pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  for _ in $(seq 1 60); do postgres_up && break; sleep 0.5; done
  postgres_up
}

stop_postgres() {
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main stop -m fast || true
}

ensure_databases() {
  for db in test edgewatch; do
    if ! psql -h 127.0.0.1 -U postgres -tAc "select 1 from pg_database where datname='${db}'" | grep -q 1; then
      psql -h 127.0.0.1 -U postgres -qc "create database ${db}" >/dev/null
    fi
  done
}

case "${1:-start}" in
  start) start_rabbitmq; start_postgres; ensure_databases ;;
  start-rabbitmq) start_rabbitmq ;;
  stop-rabbitmq) stop_rabbitmq ;;
  start-postgres) start_postgres ;;
  stop-postgres) stop_postgres ;;
  status) rabbit_up && echo "rabbitmq: up" || echo "rabbitmq: down"; postgres_up && echo "postgres: up" || echo "postgres: down" ;;
  *) echo "usage: $0 start|status|start-rabbitmq|stop-rabbitmq|start-postgres|stop-postgres" >&2; exit 2 ;;
esac
