/* ini_reader.c - see ini_reader.h. */
#include "ini_reader.h"

#include "config_error.h"
#include "util.h"

#include <errno.h>
#include <ini.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest line read; longer ones are an error, not silently split. */
#define CONFIG_LINE_MAX 4096
/* The longest NAME of ${NAME}; a longer one is taken as a plain value. */
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
    doc->entries[doc->entries_count++] = (struct ini_entry){
        xasprintf("%.*s", (int)len, section), xstrdup(name), xstrdup(value), doc->line_count};
    return 1;
}

/* Expands a whole value of the form ${NAME} or ${NAME:-default} from the
 * environment (set but empty counts as unset); other values, "${}" and
 * over-long names are returned as they are.  NULL when NAME is unset and
 * there is no default, with *missing_name pointing into name_buf. */
static char *expand_env(const char *value, const char **missing_name, char *name_buf,
                        size_t name_size)
{
    size_t len = strlen(value);
    if (len < 4 || value[0] != '$' || value[1] != '{' || value[len - 1] != '}')
        return xstrdup(value);
    const char *body = value + 2;
    size_t body_len = len - 3;
    const char *sep = strstr(body, ":-");
    size_t name_len =
        sep != NULL && (size_t)(sep - body) < body_len ? (size_t)(sep - body) : body_len;
    if (name_len == 0 || name_len >= name_size)
        return xstrdup(value);
    memcpy(name_buf, body, name_len);
    name_buf[name_len] = '\0';
    const char *env = getenv(name_buf);
    if (env != NULL && env[0] != '\0')
        return xstrdup(env);
    if (name_len < body_len) {
        const char *def = body + name_len + 2;
        return xasprintf("%.*s", (int)(body_len - name_len - 2), def);
    }
    *missing_name = name_buf;
    return NULL;
}

/* Expands every value in place; the first unset variable is the error. */
static int expand_all(struct ini_document *doc, const char *path, char *err, size_t err_size)
{
    for (size_t i = 0; i < doc->entries_count; i++) {
        struct ini_entry *e = &doc->entries[i];
        const char *missing = NULL;
        char name[ENV_NAME_MAX];
        char *expanded = expand_env(e->value, &missing, name, sizeof name);
        if (expanded == NULL) {
            config_error(err, err_size, path, e->line, e->name,
                         "environment variable %s is not set and has no default", missing);
            return -1;
        }
        free(e->value);
        e->value = expanded;
    }
    return 0;
}

/* The number of the first line of file longer than the parser's buffer
 * takes (0 if none); rewinds the file. */
static int find_long_line(FILE *file)
{
    int line = 1;
    int found = 0;
    long length = 0;
    int c;
    while (found == 0 && (c = getc(file)) != EOF) {
        if (c == '\n') {
            line++;
            length = 0;
        } else if (++length > CONFIG_LINE_MAX - 2) {
            found = line;
        }
    }
    rewind(file);
    return found;
}

/* Checked before inih runs, since inih would split a long line (and our
 * line count with it) rather than report it. */
int ini_read(const char *path, struct ini_document *doc, char *err, size_t err_size)
{
    *doc = (struct ini_document){0};
    struct read_state state = {fopen(path, "r"), doc};
    if (state.file == NULL) {
        config_error(err, err_size, path, 0, "file", "cannot open: %s", strerror(errno));
        return -1;
    }
    int long_line = find_long_line(state.file);
    if (long_line > 0) {
        fclose(state.file);
        config_error(err, err_size, path, long_line, "line", "longer than %d bytes",
                     CONFIG_LINE_MAX - 2);
        return -1;
    }
    /* A heap line buffer of CONFIG_LINE_MAX: inih's default 200 bytes would
     * split longer lines. */
    ini_allow_multiline = false;
    ini_use_stack = false;
    ini_allow_realloc = false;
    ini_max_line = CONFIG_LINE_MAX;
    ini_initial_alloc = CONFIG_LINE_MAX;
    ini_stop_on_first_error = true;
    int rc = ini_parse_stream(counting_reader, &state, collect_entry, &state);
    fclose(state.file);
    if (rc != 0) {
        config_error(err, err_size, path, rc > 0 ? rc : doc->line_count, "syntax",
                     rc > 0 ? "not a section header, key = value, comment or blank line"
                            : "cannot read the file");
        ini_document_free(doc);
        return -1;
    }
    if (expand_all(doc, path, err, err_size) < 0) {
        ini_document_free(doc);
        return -1;
    }
    return 0;
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
