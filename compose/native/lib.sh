# Helpers shared by the scripts in compose/native; sourced, not run.

# stop_pid PID TIMEOUT: sends SIGTERM to PID, waits up to TIMEOUT seconds
# for it to go, then sends SIGKILL.  PID may be -PGID for a whole process
# group ("kill -SIG -PGID", no "--": dash's kill rejects "-- -PGID").  Does
# nothing when the process is already gone.
stop_pid() {
    if kill -0 "$1" 2>/dev/null; then
        kill -TERM "$1" 2>/dev/null || true
        stop_pid_tenths=0
        while kill -0 "$1" 2>/dev/null && [ "$stop_pid_tenths" -lt $(($2 * 10)) ]; do
            sleep 0.1; stop_pid_tenths=$((stop_pid_tenths + 1))
        done
        kill -KILL "$1" 2>/dev/null || true
    fi
}

# rm_own_pidfile FILE PID: removes the pid file FILE only while it still
# holds PID.  A script that started a process and gave up on it must not
# remove a pid file that a later start has written meanwhile: that would
# hide a live process from the next stop.
rm_own_pidfile() {
    [ "$(head -n 1 "$1" 2>/dev/null)" = "$2" ] || return 0
    rm -f "$1"
}

# missing_packages PKG...: prints, space-separated, the Debian packages of
# the list that are not installed (nothing when all are).
missing_packages() {
    missing_packages_out=""
    for missing_packages_pkg in "$@"; do
        missing_packages_status=$(dpkg-query -W -f='${db:Status-Status}' "$missing_packages_pkg" 2>/dev/null || true)
        [ "$missing_packages_status" = installed ] || missing_packages_out="$missing_packages_out $missing_packages_pkg"
    done
    echo "$missing_packages_out"
}

# apt_install WHO PKG...: installs the packages without recommends, quietly;
# without root it names them (as WHO) and fails, so a user knows what to ask for.
apt_install() {
    apt_install_who=$1; shift
    if [ "$(id -u)" != 0 ]; then
        echo "$apt_install_who: missing Debian packages: $* (run as root to install)" >&2
        exit 1
    fi
    echo "$apt_install_who: installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
