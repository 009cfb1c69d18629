/* ini_reader.c - see ini_reader.h. */
#include "ini_reader.h"

#include "config.h"
#include "config_error.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest line read; longer ones are an error, not silently split. */
#define CONFIG_LINE_MAX 4096
/* The longest NAME of ${NAME} + 1; a longer one is refused. */
#define ENV_NAME_MAX 128

/* What the inih callbacks collect. */
struct read_state {
    FILE *file;
    struct ini_document *doc; /* doc->line_count is counted by our reader:
                                 inih 55 cannot report line numbers */
};

/* Records a section header line ("[name]") with its line number.  inih
 * reports sections only through the keys inside them, so an empty section
 * would otherwise go unseen. */
static void note_section_header(struct ini_document *doc, const char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    if (*text != '[')
        return;
    const char *end = strchr(text, ']');
    if (end == NULL)
        return; /* inih reports the syntax error */
    const char *start = text + 1;
    while (start < end && (*start == ' ' || *start == '\t'))
        start++;
    const char *stop = end;
    while (stop > start && (stop[-1] == ' ' || stop[-1] == '\t'))
        stop--;
    doc->sections = xrealloc(doc->sections, (doc->sections_count + 1) * sizeof *doc->sections);
    doc->sections[doc->sections_count++] =
        (struct ini_section){xasprintf("%.*s", (int)(stop - start), start), doc->line_count};
}

/* inih reader: fgets that counts lines, so the handler knows where it is,
 * and notes section headers. */
static char *counting_reader(char *str, int num, void *stream)
{
    struct read_state *state = stream;
    char *got = fgets(str, num, state->file);
    if (got != NULL) {
        state->doc->line_count++;
        note_section_header(state->doc, got);
    }
    return got;
}

/* inih handler: records each key = value with its line number.  The
 * section name is trimmed as note_section_header() trims it, so "[ etl ]"
 * is "etl" for both. */
static int collect_entry(void *user, const char *section, const char *name, const char *value)
{
    struct ini_document *doc = ((struct read_state *)user)->doc;
    while (*section == ' ' || *section == '\t')
        section++;
    size_t len = strlen(section);
    while (len > 0 && (section[len - 1] == ' ' || section[len - 1] == '\t'))
        len--;
    doc->entries = xrealloc(doc->entries, (doc->entries_count + 1) * sizeof *doc->entries);
    doc->entries[doc->entries_count++] =
        (struct ini_entry){.section = xasprintf("%.*s", (int)len, section),
                           .name = xstrdup(name),
                           .value = xstrdup(value),
                           .line = doc->line_count};
    return 1;
}

/* The opening of a variable reference. */
#define ENV_OPEN "${"
/* The reason for a ${ that does not open the whole value. */
#define WHOLE_VALUE_ONLY "\"%s\": ${NAME} is expanded only as the whole value, never inside one"
/* What separates NAME from its default. */
#define ENV_DEFAULT_SEP ":-"

/* True for a shell variable name: a letter or _, then letters, digits, _. */
static bool is_env_name(const char *name, size_t len)
{
    if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

/* Expands value when it is, as a whole, ${NAME} or ${NAME:-default} (set
 * but empty counts as unset); a value without "${" is kept as it is.
 * Anything else holding "${" is refused rather than kept as literal text
 * with another meaning: a reference inside a longer value ("${HOME}/x"), a
 * default holding ${ or } (nested), a NAME that is not a variable name.
 * Returns the new value, or NULL with the reason in reason. */
static char *expand_env(const char *value, char *reason, size_t reason_size)
{
    if (strstr(value, ENV_OPEN) == NULL)
        return xstrdup(value);
    size_t len = strlen(value);
    if (strncmp(value, ENV_OPEN, strlen(ENV_OPEN)) != 0 || value[len - 1] != '}') {
        snprintf(reason, reason_size, WHOLE_VALUE_ONLY, value);
        return NULL;
    }
    const char *body = value + strlen(ENV_OPEN);
    const char *end = value + len - 1; /* the closing brace */
    const char *sep = strstr(body, ENV_DEFAULT_SEP);
    if (sep != NULL && sep >= end)
        sep = NULL;
    const char *name_end = sep != NULL ? sep : end;
    const char *def = sep != NULL ? sep + strlen(ENV_DEFAULT_SEP) : NULL;
    const char *inner = strstr(body, ENV_OPEN);
    if (inner != NULL && (def == NULL || inner < def)) {
        snprintf(reason, reason_size, WHOLE_VALUE_ONLY, value);
        return NULL;
    }
    size_t name_len = (size_t)(name_end - body);
    if (!is_env_name(body, name_len) || name_len >= ENV_NAME_MAX) {
        snprintf(reason, reason_size,
                 "\"%s\": \"%.*s\" is not a variable name (letters, digits and _, at most %d)",
                 value, (int)name_len, body, ENV_NAME_MAX - 1);
        return NULL;
    }
    if (def != NULL && (inner != NULL || memchr(def, '}', (size_t)(end - def)) != NULL)) {
        snprintf(reason, reason_size, "\"%s\": a default may not hold ${ or } (no nesting)", value);
        return NULL;
    }
    char name[ENV_NAME_MAX];
    memcpy(name, body, name_len);
    name[name_len] = '\0';
    const char *env = getenv(name);
    if (env != NULL && env[0] != '\0')
        return xstrdup(env);
    if (def != NULL)
        return xasprintf("%.*s", (int)(end - def), def);
    snprintf(reason, reason_size, "environment variable %s is not set and has no default", name);
    return NULL;
}

/* True when value holds a ';' after a space or a tab: other INI readers
 * (and inih with its defaults) cut the value there as a comment. */
static bool has_inline_comment(const char *value)
{
    for (const char *p = strchr(value, ';'); p != NULL; p = strchr(p + 1, ';')) {
        if (p > value && (p[-1] == ' ' || p[-1] == '\t'))
            return true;
    }
    return false;
}

/* Checks and expands every value in place; each bad one is reported and
 * marked invalid.  Returns 0, or 1 when any was bad. */
static int expand_all(struct ini_document *doc, const char *path, struct config_errors *errors)
{
    int rc = 0;
    for (size_t i = 0; i < doc->entries_count; i++) {
        struct ini_entry *e = &doc->entries[i];
        if (has_inline_comment(e->value)) {
            config_error(errors, path, e->line, e->name,
                         "\" ;\" in a value: a comment or part of it? (put comments on lines "
                         "of their own)");
            e->invalid = true;
            rc = 1;
            continue;
        }
        char reason[CONFIG_ERROR_MAX];
        char *expanded = expand_env(e->value, reason, sizeof reason);
        if (expanded == NULL) {
            config_error(errors, path, e->line, e->name, "%s", reason);
            e->invalid = true;
            rc = 1;
            continue;
        }
        free(e->value);
        e->value = expanded;
    }
    return rc;
}

/* Bytes a UTF-8 sequence led by byte c takes (0: c cannot lead one, as
 * C0, C1 and F5-FF, which only start overlong forms or code points past
 * U+10FFFF; utf8_second_ok() refuses the other such forms). */
static int utf8_length(int c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/* True when c may follow lead as the first continuation byte. */
static bool utf8_second_ok(int lead, int c)
{
    if (lead == 0xE0)
        return c >= 0xA0 && c <= 0xBF;
    if (lead == 0xED) /* no UTF-16 surrogates */
        return c >= 0x80 && c <= 0x9F;
    if (lead == 0xF0)
        return c >= 0x90 && c <= 0xBF;
    if (lead == 0xF4)
        return c >= 0x80 && c <= 0x8F;
    return c >= 0x80 && c <= 0xBF;
}

/* Reads file once before inih does, since inih would split a long line
 * (and our line count with it), stop a line at a NUL byte, and take any
 * bytes as text.  Returns 0 and rewinds, or -1 with the error added: the
 * first line longer than the parser's buffer, holding a NUL byte or
 * bytes that are not UTF-8, or a read error. */
static int check_lines(FILE *file, const char *path, struct config_errors *errors)
{
    int line = 1;
    long column = 0;
    int lead = 0;       /* the first byte of the UTF-8 sequence being read */
    long lead_at = 0;   /* its column */
    int pending = 0;    /* its continuation bytes still to come */
    bool second = true; /* the next continuation byte is the sequence's second */
    int c;
    while ((c = getc(file)) != EOF) {
        column++;
        bool bad_utf8;
        if (pending > 0) {
            bad_utf8 = second ? !utf8_second_ok(lead, c) : (c < 0x80 || c > 0xBF);
            second = false;
            pending--;
        } else {
            lead = c;
            lead_at = column;
            pending = utf8_length(c) - 1;
            second = true;
            bad_utf8 = pending < 0;
        }
        if (bad_utf8) {
            config_error(errors, path, line, "encoding", "not UTF-8 at column %ld (byte 0x%02X)",
                         lead_at, (unsigned)lead);
            return -1;
        }
        if (c == '\0') {
            config_error(errors, path, line, "encoding", "a NUL byte at column %ld", column);
            return -1;
        }
        if (c == '\n') {
            line++;
            column = 0;
        } else if (column > CONFIG_LINE_MAX - 2) {
            config_error(errors, path, line, "line", "longer than %d bytes", CONFIG_LINE_MAX - 2);
            return -1;
        }
    }
    if (ferror(file)) {
        config_error(errors, path, line, "file", "cannot read: %s", strerror(errno));
        return -1;
    }
    if (pending > 0) {
        config_error(errors, path, line, "encoding",
                     "not UTF-8 at column %ld (byte 0x%02X): the file ends inside a character",
                     lead_at, (unsigned)lead);
        return -1;
    }
    rewind(file);
    return 0;
}

/* Opens path for reading if it is a regular file.  Opened without waiting
 * (a FIFO with no writer would block the program at start), and refused
 * unless regular: a directory reads as empty, and a FIFO or device cannot
 * be read twice, as ini_read does.  NULL with the error added to errors. */
static FILE *open_regular(const char *path, struct config_errors *errors)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        config_error(errors, path, 0, "file", "cannot open: %s", strerror(errno));
        return NULL;
    }
    struct stat st;
    const char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = strerror(errno);
    else if (S_ISDIR(st.st_mode))
        why = "a directory, not a file";
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file (a FIFO, socket or device)";
    if (why != NULL) {
        config_error(errors, path, 0, "file", "cannot open: %s", why);
        close(fd);
        return NULL;
    }
    FILE *file = fdopen(fd, "r");
    if (file == NULL) {
        config_error(errors, path, 0, "file", "cannot open: %s", strerror(errno));
        close(fd);
    }
    return file;
}

int ini_read(const char *path, struct ini_document *doc, struct config_errors *errors)
{
    *doc = (struct ini_document){0};
    struct read_state state = {open_regular(path, errors), doc};
    if (state.file == NULL)
        return -1;
    if (check_lines(state.file, path, errors) < 0) {
        fclose(state.file);
        return -1;
    }
    /* A heap line buffer of CONFIG_LINE_MAX: inih's default 200 bytes would
     * split longer lines.  Inline comments off: a ';' after a space stays
     * in the value, where expand_all() refuses it. */
    ini_allow_multiline = false;
    ini_allow_inline_comments = false;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_max_line = CONFIG_LINE_MAX;
    ini_initial_alloc = CONFIG_LINE_MAX;
    ini_stop_on_first_error = true;
    int rc = ini_parse_stream(counting_reader, &state, collect_entry, &state);
    fclose(state.file);
    if (rc != 0) {
        config_error(errors, path, rc > 0 ? rc : doc->line_count, "syntax",
                     rc > 0 ? "not a section header, key = value, comment or blank line"
                            : "cannot read the file");
        ini_document_free(doc);
        return -1;
    }
    return expand_all(doc, path, errors);
}

void ini_document_free(struct ini_document *doc)
{
    for (size_t i = 0; i < doc->entries_count; i++) {
        free(doc->entries[i].section);
        free(doc->entries[i].name);
        free(doc->entries[i].value);
    }
    for (size_t i = 0; i < doc->sections_count; i++)
        free(doc->sections[i].name);
    free(doc->entries);
    free(doc->sections);
    *doc = (struct ini_document){0};
}
