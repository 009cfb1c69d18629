/* reload_print.c - see reload_print.h. */
#include "reload_print.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The words of the data lines (reload.h), their JSON member, and whether
 * the member holds KEY=VALUE pairs (an object) or names (an array). */
static const struct {
    const char *word;
    const char *member;
    bool pairs;
} reload_words[] = {
    {"restarted", "restarted", false},
    {"changed", "changed", false},
    {"added", "added", false},
    {"removed", "removed", false},
    {"live", "live", true},
    {"next-start", "next_start", true},
    {"error", "errors", false},
};
#define RELOAD_WORDS_COUNT (sizeof reload_words / sizeof reload_words[0])

/* Index in reload_words of line's word, text after it in *rest; -1 when
 * none matches. */
static int line_word(const char *line, const char **rest)
{
    for (size_t i = 0; i < RELOAD_WORDS_COUNT; i++) {
        size_t len = strlen(reload_words[i].word);
        if (strncmp(line, reload_words[i].word, len) == 0 && line[len] == ' ') {
            *rest = line + len + 1;
            return (int)i;
        }
    }
    return -1;
}

/* The document of reload_print.h; NULL on a line it does not know. */
static json_t *reload_document(const char *const *lines, size_t count, bool applied)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "applied", json_boolean(applied));
    for (size_t i = 0; i < RELOAD_WORDS_COUNT; i++)
        json_object_set_new(doc, reload_words[i].member,
                            reload_words[i].pairs ? json_object() : json_array());
    for (size_t i = 0; i < count; i++) {
        const char *rest;
        int w = line_word(lines[i], &rest);
        const char *eq = w >= 0 && reload_words[w].pairs ? strchr(rest, '=') : NULL;
        if (w < 0 || (reload_words[w].pairs && eq == NULL)) {
            json_decref(doc);
            return NULL;
        }
        json_t *member = json_object_get(doc, reload_words[w].member);
        if (eq == NULL) {
            json_array_append_new(member, json_string(rest));
        } else {
            char *key = strndup(rest, (size_t)(eq - rest));
            json_object_set_new(member, key, json_string(eq + 1));
            free(key);
        }
    }
    return doc;
}

int reload_print(const char *const *lines, size_t count, bool applied, const char *final_text,
                 bool json)
{
    if (json) {
        json_t *doc = reload_document(lines, count, applied);
        if (doc == NULL)
            return -1;
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", text);
        free(text);
        json_decref(doc);
        return 0;
    }
    FILE *out = applied ? stdout : stderr;
    for (size_t i = 0; i < count; i++)
        fprintf(out, "%s\n", lines[i]);
    fprintf(out, applied ? "%s\n" : "etlctl: %s\n", final_text);
    return 0;
}
