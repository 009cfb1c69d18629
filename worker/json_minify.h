/* json_minify.h - one JSON text on one line, every byte of its values kept.
 *
 * A _bulk body is NDJSON: each document must be one line.  documents.sql may
 * print JSON across lines (jsonb_pretty, hand-written SQL), so the worker
 * drops the whitespace between tokens.  It does not re-serialise through a
 * JSON library: that would print numbers differently (8.1 as
 * 8.0999999999999996) and refuse integers wider than 64 bits, and the index
 * must hold exactly what PostgreSQL built. */
#ifndef ETL_JSON_MINIFY_H
#define ETL_JSON_MINIFY_H

#include <stddef.h>

/* A new string: text (len bytes, already checked to be valid JSON) without
 * the whitespace, and the NUL bytes jansson lets through, outside strings.
 * Strings are copied byte for byte, escapes included, so a raw newline can
 * only have been whitespace between tokens. */
char *json_minify(const char *text, size_t len);

#endif
