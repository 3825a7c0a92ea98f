# Sourced by scripts/demo.sh and scripts/test.sh: installs with apt-get whatever the build (and,
# with "test", the test suite) needs and the machine lacks.
#   ensure_packages build|test
ensure_packages() {
  local need=()
  pkg-config --exists libpq 2>/dev/null || need+=(libpq-dev)
  pkg-config --exists sqlite3 2>/dev/null || need+=(libsqlite3-dev)
  pkg-config --exists zlib 2>/dev/null || need+=(zlib1g-dev)
  pkg-config --exists libcurl 2>/dev/null || need+=(libcurl4-openssl-dev)
  command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
  command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
  if [ "${1:-build}" = test ]; then
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
    command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
    command -v jq >/dev/null 2>&1 || need+=(jq)
    command -v make >/dev/null 2>&1 || need+=(make)
    # test.sh picks a free port for the cluster with python3
    command -v python3 >/dev/null 2>&1 || need+=(python3)
    # tests kill a stage mid-run with pkill
    command -v pkill >/dev/null 2>&1 || need+=(procps)
    # tests generate and cut streams with awk
    command -v awk >/dev/null 2>&1 || need+=(mawk)
    # the harness bounds every script with timeout; tests use mkfifo, seq, md5sum, base64
    command -v timeout >/dev/null 2>&1 || need+=(coreutils)
    # script (util-linux's, packaged as bsdutils on Debian) gives a command a terminal
    command -v script >/dev/null 2>&1 || need+=(bsdutils)
    # tests compare outputs with cmp
    command -v cmp >/dev/null 2>&1 || need+=(diffutils)
    # Snowflake key-pair tests make RSA keys as Snowflake's documentation does
    command -v openssl >/dev/null 2>&1 || need+=(openssl)
  fi
  [ ${#need[@]} -eq 0 ] && return 0
  printf '%s: installing %s\n' "$(basename "$0")" "${need[*]}" >&2
  local sudo=
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}
