/* rebuild_signal.c - see rebuild_signal.h. */
#include "rebuild_signal.h"

#include <stddef.h>

volatile sig_atomic_t rebuild_requested;

/* SIGUSR1: only the flag (async-signal-safe). */
static void request_rebuild(int signo)
{
    (void)signo;
    rebuild_requested = 1;
}

void rebuild_signal_install(void)
{
    struct sigaction action = {0};
    action.sa_handler = request_rebuild;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGUSR1, &action, NULL);
}
