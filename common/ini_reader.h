/* ini_reader.h - reads an INI file with inih into raw sections and
 * key = value entries, each with its line number, and expands ${VAR} and
 * ${VAR:-default} values (whole values only) from the environment.  It knows no key: checking
 * names and values is config.c's and config_index.c's job. */
#ifndef ETL_INI_READER_H
#define ETL_INI_READER_H

#include <stdbool.h>
#include <stddef.h>

struct config_errors; /* config_error.h */

/* One key = value line.  section is "" for a key above every header. */
struct ini_entry {
    char *section;
    char *name;
    char *value;  /* expanded */
    bool invalid; /* its value was refused here (reported): the key's checks skip it */
    int line;
};

/* One section header line, so an empty section is seen too. */
struct ini_section {
    char *name; /* trimmed: "[ etl ]" is "etl" */
    int line;
};

/* A file as read, in file order. */
struct ini_document {
    struct ini_entry *entries;
    size_t entries_count;
    struct ini_section *sections;
    size_t sections_count;
    int line_count; /* where errors about the file as a whole point */
};

/* Reads path into *doc.  Returns 0; or -1 with a "file:line: key: reason"
 * message added to errors when the file cannot be read as a whole (cannot
 * open, not a regular file, a line too long, a NUL byte or bytes that are
 * not UTF-8, bad syntax), *doc then empty; or 1 when values were refused
 * (" ;" in a value, a ${...} that is not the whole value or is nested, a
 * variable unset without a default), one message each, those entries
 * marked invalid and the rest of *doc usable.  Multi-line values are refused: they would
 * make line numbers and lists ambiguous. */
int ini_read(const char *path, struct ini_document *doc, struct config_errors *errors);
void ini_document_free(struct ini_document *doc);

#endif
