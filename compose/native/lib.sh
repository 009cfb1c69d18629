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
