# Sourced by .ci/run (bash, as root): start a throwaway PostgreSQL server from Debian's `postgresql`
# package for the scale-out tests, and export COSEARCH_TEST_POSTGRES_URL. The server is a private
# cluster (initdb in a temporary directory, owned by the `postgres` user) listening on 127.0.0.1 only,
# on a free port, so it never clashes with a system cluster. An EXIT trap stops it and removes its files.
#
# By hand:  source .ci/postgres.sh   (then `pg_stop` when done, or leave the shell)

pg_bin=$( (ls -d /usr/lib/postgresql/*/bin 2>/dev/null || true) | sort -V | tail -n 1)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
    echo "postgres.sh: no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)" >&2
    return 1 2>/dev/null || exit 1
fi
pg_dir=$(mktemp -d /tmp/cosearch-pg.XXXXXX)
chown postgres: "$pg_dir"
pg_port=$(python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo cosearch > "$pg_dir/pw"
chown postgres: "$pg_dir/pw"

pg_stop() {
    if [ -n "${pg_dir:-}" ] && [ -d "$pg_dir/data" ]; then
        runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    [ -n "${pg_dir:-}" ] && rm -rf "$pg_dir"
    pg_dir=
}
trap pg_stop EXIT

# superuser `cosearch` (password `cosearch`): peer auth on the socket, scram over TCP
runuser -u postgres -- "$pg_bin/initdb" -D "$pg_dir/data" -U cosearch --pwfile="$pg_dir/pw" \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync -E UTF8 >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 60 \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
runuser -u postgres -- "$pg_bin/createdb" -h "$pg_dir" -p "$pg_port" -U cosearch -O cosearch cosearch_test

export COSEARCH_TEST_POSTGRES_URL="postgresql://cosearch:cosearch@127.0.0.1:$pg_port/cosearch_test"
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port (COSEARCH_TEST_POSTGRES_URL)"
