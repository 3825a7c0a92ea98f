# Sourced by scripts/test.sh: the fakesnow server (PyPI), which emulates Snowflake's HTTP query
# protocol on loopback, for the Snowflake destination's tests.
#   ensure_fakesnow      installs it into a virtualenv (cached across runs) and sets $fakesnow_python
#   start_fakesnow PORT  starts `fakesnow -s -p PORT` and waits until it answers; stop_fakesnow ends it
#
# Pinned: fakesnow 0.12.1, with snowflake-connector-python below 5 (5.x breaks fakesnow's import);
# moto (an S3 emulator, run in-process by the stage upload tests) with flask and flask-cors, which
# its server needs (moto[server] would pull in much more).
fakesnow_requirements=("fakesnow[server]==0.12.1" "snowflake-connector-python<5" "moto==5.2.6" "flask==3.1.3" "flask-cors==6.0.5")

ensure_fakesnow() {
  local venv=${CONDUIT_FAKESNOW_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/conduit/fakesnow-0.12.1}
  fakesnow_python="$venv/bin/python"
  if [ -x "$venv/bin/fakesnow" ] && "$fakesnow_python" -c 'import fakesnow, snowflake.connector, moto.server, flask_cors' 2>/dev/null; then
    return 0
  fi
  printf '%s: installing fakesnow 0.12.1 into %s\n' "$(basename "$0")" "$venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    # Debian's python3 keeps venv (and ensurepip) in a package of its own.
    local sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${fakesnow_requirements[@]}"
}

fakesnow_pid=
start_fakesnow() {
  local port=$1 log=$2
  "$(dirname "$fakesnow_python")/fakesnow" -s -p "$port" >"$log" 2>&1 &
  fakesnow_pid=$!
  local tries=0
  until "$fakesnow_python" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request, json
body = json.dumps({"data": {"LOGIN_NAME": "probe", "PASSWORD": "probe", "ACCOUNT_NAME": "probe", "SESSION_PARAMETERS": {}}}).encode()
request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/session/v1/login-request", data=body, headers={"Content-Type": "application/json"})
sys.exit(0 if json.load(urllib.request.urlopen(request, timeout=2)).get("success") else 1)
PY
  do
    tries=$((tries + 1))
    if [ $tries -gt 120 ] || ! kill -0 "$fakesnow_pid" 2>/dev/null; then
      cat "$log" >&2
      printf '%s: fakesnow did not start on port %s\n' "$(basename "$0")" "$port" >&2
      return 1
    fi
    sleep 0.5
  done
}

stop_fakesnow() {
  [ -n "$fakesnow_pid" ] || return 0
  kill "$fakesnow_pid" 2>/dev/null || true
  wait "$fakesnow_pid" 2>/dev/null || true
  fakesnow_pid=
}
