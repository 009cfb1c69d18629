/* schema_files.c - see schema_files.h. */
#include "schema_files.h"

#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Digits of a migration's number. */
#define VERSION_DIGITS 4

/* True for NNNN_name.sql; *version gets NNNN. */
static bool migration_name(const char *file, int *version)
{
    size_t len = strlen(file);
    const char *suffix = ".sql";
    size_t suffix_len = strlen(suffix);
    if (len <= VERSION_DIGITS + 1 + suffix_len || strcmp(file + len - suffix_len, suffix) != 0)
        return false;
    for (int i = 0; i < VERSION_DIGITS; i++) {
        if (!isdigit((unsigned char)file[i]))
            return false;
    }
    if (file[VERSION_DIGITS] != '_')
        return false;
    for (size_t i = VERSION_DIGITS + 1; i < len - suffix_len; i++) {
        char c = file[i];
        if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '_'))
            return false;
    }
    *version = (int)strtol(file, NULL, 10);
    return *version > 0;
}

/* Reads dir/file into a new string; NULL with err filled. */
static char *read_in(const char *dir, const char *file, size_t *len, char *err, size_t err_size)
{
    char *path = xasprintf("%s/%s", dir, file);
    char *text = read_whole_file(path, len);
    if (text == NULL)
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
    free(path);
    return text;
}

/* Orders migrations by version. */
static int by_version(const void *a, const void *b)
{
    const struct schema_migration *x = a;
    const struct schema_migration *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/* Adds dir/file as a migration of version; -1 with err filled. */
static int add_migration(struct schema_migrations *out, const char *dir, const char *file,
                         int version, char *err, size_t err_size)
{
    struct schema_migration m = {.version = version};
    m.text = read_in(dir, file, &m.len, err, err_size);
    if (m.text == NULL)
        return -1;
    m.name = xstrdup(file);
    m.name[strlen(m.name) - strlen(".sql")] = '\0';
    size_t mark = strlen(SCHEMA_NO_TRANSACTION_MARK);
    m.no_transaction = strncmp(m.text, SCHEMA_NO_TRANSACTION_MARK, mark) == 0 &&
                       (m.text[mark] == '\n' || m.text[mark] == '\0');
    out->items = xrealloc(out->items, (out->count + 1) * sizeof *out->items);
    out->items[out->count++] = m;
    return 0;
}

int schema_files_read(const char *dir, struct schema_migrations *out, char *err, size_t err_size)
{
    *out = (struct schema_migrations){0};
    DIR *d = opendir(dir);
    if (d == NULL) {
        snprintf(err, err_size, "%s: %s (the migrations: --migrations DIR)", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    const struct dirent *entry;
    while (rc == 0 && (entry = readdir(d)) != NULL) {
        int version;
        if (migration_name(entry->d_name, &version))
            rc = add_migration(out, dir, entry->d_name, version, err, err_size);
    }
    closedir(d);
    if (rc == 0 && out->count == 0) {
        snprintf(err, err_size, "%s: no migration (NNNN_name.sql) there", dir);
        rc = -1;
    }
    if (rc == 0)
        qsort(out->items, out->count, sizeof *out->items, by_version);
    for (size_t i = 0; rc == 0 && i < out->count; i++) {
        if (out->items[i].version != (int)i + 1) {
            snprintf(err, err_size, "%s: migration %04zu is %s (numbers run from 1, one each)", dir,
                     i + 1, i > 0 && out->items[i].version == (int)i ? "there twice" : "missing");
            rc = -1;
        }
    }
    if (rc == 0) {
        out->version_table_sql = read_in(dir, SCHEMA_VERSION_TABLE_FILE, NULL, err, err_size);
        if (out->version_table_sql == NULL)
            rc = -1;
    }
    if (rc < 0)
        schema_files_free(out);
    return rc;
}

void schema_files_free(struct schema_migrations *migrations)
{
    for (size_t i = 0; i < migrations->count; i++) {
        free(migrations->items[i].name);
        free(migrations->items[i].text);
    }
    free(migrations->items);
    free(migrations->version_table_sql);
    *migrations = (struct schema_migrations){0};
}

/* Appends the statement in buf (trimmed; nothing when empty) to *out. */
static void end_statement(struct buffer *buf, char ***out, int *count)
{
    const char *start = buf->data != NULL ? buf->data : "";
    size_t len = buf->len;
    while (len > 0 && isspace((unsigned char)*start)) {
        start++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)start[len - 1]))
        len--;
    if (len > 0) {
        *out = xrealloc(*out, (size_t)(*count + 1) * sizeof **out);
        char *text = xmalloc(len + 1);
        memcpy(text, start, len);
        text[len] = '\0';
        (*out)[(*count)++] = text;
    }
    buffer_reset(buf);
}

int schema_files_split(const char *text, char ***out, char *err, size_t err_size)
{
    *out = NULL;
    int count = 0;
    bool bad = false;
    struct buffer buf = {0};
    char quote = '\0'; /* the quote we are inside, or none */
    for (const char *p = text; *p != '\0' && !bad; p++) {
        if (quote != '\0') {
            if (*p == quote)
                quote = '\0';
        } else if (p[0] == '-' && p[1] == '-') {
            p += strcspn(p, "\n");
            if (*p == '\0')
                break;
        } else if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            p = end != NULL ? end + 1 : p + strlen(p) - 1;
            continue;
        } else if (*p == '$') {
            snprintf(err, err_size, "a dollar quote: not allowed in a no-transaction migration");
            bad = true;
            break;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == ';') {
            end_statement(&buf, out, &count);
            continue;
        }
        buffer_append(&buf, p, 1);
    }
    for (size_t i = 0; !bad && i < buf.len; i++) {
        if (!isspace((unsigned char)buf.data[i])) {
            snprintf(err, err_size, "text after the last ';'");
            bad = true;
        }
    }
    buffer_free(&buf);
    if (!bad)
        return count;
    for (int i = 0; i < count; i++)
        free((*out)[i]);
    free(*out);
    *out = NULL;
    return -1;
}
