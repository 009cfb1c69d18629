/* exit_status.c - see exit_status.h. */
#include "exit_status.h"

/* The table as rows: the name as text, so the docs can be checked by it. */
#define EXIT_STATUS_ROW(name, number, programs, meaning) {#name, (number), (programs), (meaning)},
const struct exit_status_row exit_status_rows[] = {EXIT_STATUS_TABLE(EXIT_STATUS_ROW)};
#undef EXIT_STATUS_ROW

const size_t exit_status_rows_count = sizeof exit_status_rows / sizeof exit_status_rows[0];

/* The number right-aligned in a column wide enough for 130. */
void exit_status_print_usage(FILE *out, const char *heading, unsigned programs)
{
    fprintf(out, "%s\n", heading);
    for (size_t i = 0; i < exit_status_rows_count; i++) {
        if ((exit_status_rows[i].programs & programs) != 0)
            fprintf(out, "  %3d  %s\n", exit_status_rows[i].status, exit_status_rows[i].meaning);
    }
}
