/* secret.c - credentials from a file or the environment; see secret.h. */
#include "core/secret.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

char *secret_read_file(const char *path, const char *what, struct bz_err *err)
{
    char line[2048];
    FILE *f = fopen(path, "r");
    size_t n;

    if (f == NULL || fgets(line, sizeof(line), f) == NULL) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "cannot read %s from %s", what, path);
        if (f != NULL) {
            fclose(f);
        }
        return NULL;
    }
    fclose(f);
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    if (n == 0) {
        bz_err_set(err, BZ_E_INVALID_INPUT, "%s in %s is empty", what, path);
        return NULL;
    }
    return xstrdup(line);
}

int secret_load(const char *file, const char *env, const char *what, char **out, struct bz_err *err)
{
    const char *value = env ? getenv(env) : NULL;

    *out = NULL;
    if (file != NULL && file[0] != '\0') {
        *out = secret_read_file(file, what, err);
        return *out ? BZ_OK : (int)err->code;
    }
    if (value != NULL && value[0] != '\0') {
        *out = xstrdup(value);
    }
    return BZ_OK;
}

void secret_free(char *s)
{
    if (s != NULL) {
        volatile char *p = s;
        while (*p != '\0') {
            *p++ = '\0';
        }
        free(s);
    }
}
