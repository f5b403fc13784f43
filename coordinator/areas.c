/* areas.c - the area layout, the name allowlist and the installation lock. See areas.h. */
#include "coordinator/areas.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <xxhash.h>

#include "io/codec.h"
#include "io/fsutil.h"

static bool name_byte_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

bool areas_name_allowed(const char *name)
{
    size_t i, n = strlen(name);

    if (n == 0 || n > 200 || strstr(name, "..") != NULL) {
        return false;
    }
    for (i = 0; i < n; i++) {
        bool alnum = name_byte_ok(name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-';
        if (!(i == 0 ? alnum : name_byte_ok(name[i]))) {
            return false;
        }
    }
    return true;
}

void areas_safe_name(const char *name, char *out, size_t size)
{
    size_t i, n = 0;

    for (i = 0; name[i] != '\0' && n + 1 < size && n < 200; i++) {
        out[n++] = name_byte_ok(name[i]) ? name[i] : '_';
    }
    if (n == 0 || out[0] == '.' || out[0] == '-') { /* '-': a partner's script reads an option */
        out[0] = '_';
        n = n ? n : 1;
    }
    out[n] = '\0';
    while (strstr(out, "..") != NULL) {
        *strstr(out, "..") = '_';
    }
}

void areas_inbox_path(const struct bz_config *cfg, const char *site, const char *name, char *out,
                      size_t size)
{
    snprintf(out, size, "%s/%s/%s", cfg->inbox_dir, site, name);
}

static void job_path(const char *area, const struct job *job, const char *suffix, char *out,
                     size_t size)
{
    snprintf(out, size, "%s/%s/%s_%s%s", area, job->site_id, job->job_id, job->file_name, suffix);
}

void areas_backup_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size)
{
    job_path(cfg->backup_dir, job, "", out, size);
}

void areas_archive_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size)
{
    job_path(cfg->archive_dir, job, ".zst", out, size);
}

void areas_load_path(const struct bz_config *cfg, const struct job *job, char *out, size_t size)
{
    size_t n = strlen(job->file_name);

    if (codec_from_name(job->file_name) == CODEC_GZIP) {
        n -= 3;
    } else if (codec_from_name(job->file_name) == CODEC_ZSTD) {
        n -= 4;
    }
    snprintf(out, size, "%s/%s/%s_%.*s", cfg->load_dir, job->site_id, job->job_id, (int)n,
             job->file_name);
}

void areas_error_file(const struct bz_config *cfg, const struct job *job, char *out, size_t size)
{
    char safe[256];

    if (areas_name_allowed(job->file_name)) {
        snprintf(out, size, "%s/%s/%s.errors.tsv", cfg->outbox_dir, job->site_id, job->file_name);
        return;
    }
    /* a name not allowed gets a name no allowed one can have (those start with a letter or a
     * digit), and its job id: two such names never share an error file either */
    areas_safe_name(job->file_name, safe, sizeof(safe));
    snprintf(out, size, "%s/%s/_%s_%s.errors.tsv", cfg->outbox_dir, job->site_id, job->job_id,
             safe);
}

void areas_quarantine_path(const struct bz_config *cfg, const struct job *job, char *out,
                           size_t size)
{
    char safe[256];

    areas_safe_name(job->file_name, safe, sizeof(safe));
    snprintf(out, size, "%s/%s/%s_%s", cfg->quarantine_dir, job->site_id, job->job_id, safe);
}

void areas_temp(const struct bz_config *cfg, char *out, size_t size)
{
    snprintf(out, size, "%s/bizoope-%016llx", cfg->temp_dir,
             (unsigned long long)XXH64(cfg->state_path, strlen(cfg->state_path), 0));
}

int areas_create(const struct bz_config *cfg, struct bz_err *err)
{
    const char *per_site[] = {cfg->inbox_dir, cfg->outbox_dir,  cfg->backup_dir,
                              cfg->load_dir,  cfg->archive_dir, cfg->quarantine_dir};
    char dir[AREAS_PATH_BYTES];
    struct bz_err one;
    size_t a, s;
    int rc = fs_mkdir_p(cfg->temp_dir, err);

    for (a = 0; a < sizeof(per_site) / sizeof(per_site[0]); a++) {
        int arc = fs_mkdir_p(per_site[a], &one);
        for (s = 0; s < cfg->nsites && arc == BZ_OK; s++) {
            snprintf(dir, sizeof(dir), "%s/%s", per_site[a], cfg->sites[s]);
            arc = fs_mkdir_p(dir, &one);
        }
        if (arc != BZ_OK && rc == BZ_OK) { /* the first failure; the other areas still made */
            rc = arc;
            if (err != NULL) {
                *err = one;
            }
        }
    }
    return rc;
}

/* Removes the NAME.tmp-XXXXXX entries of one folder. */
static int sweep_folder(const char *dir, struct bz_err *err)
{
    char path[AREAS_PATH_BYTES * 2];
    char **names;
    size_t n, i;
    int rc = fs_list(dir, &names, &n, err);

    for (i = 0; i < n && rc == BZ_OK; i++) {
        const char *tmp = strstr(names[i], ".tmp-");
        if (tmp != NULL && strlen(tmp) == strlen(".tmp-XXXXXX")) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            rc = fs_remove_tree(path, err);
        }
    }
    fs_free_names(names, n);
    return rc;
}

int areas_sweep(const struct bz_config *cfg, struct bz_err *err)
{
    /* only where every name is bizoope's own (<job>_NAME): quarantine keeps names a sender
     * chose (one may look like a temporary), and error files are made in temp */
    const char *areas[] = {cfg->backup_dir, cfg->load_dir, cfg->archive_dir};
    char dir[AREAS_PATH_BYTES];
    size_t a, s;
    int rc;

    areas_temp(cfg, dir, sizeof(dir));
    rc = fs_remove_tree(dir, err); /* the installation's own folder, never paths.temp itself */
    if (rc == BZ_OK) {
        rc = fs_mkdir_p(dir, err);
    }
    for (a = 0; a < sizeof(areas) / sizeof(areas[0]) && rc == BZ_OK; a++) {
        for (s = 0; s < cfg->nsites && rc == BZ_OK; s++) {
            snprintf(dir, sizeof(dir), "%s/%s", areas[a], cfg->sites[s]);
            rc = sweep_folder(dir, err);
        }
    }
    return rc;
}

/* Moves a fresh probe file from one folder to the other: BZ_E_INVALID_INPUT when a rename
 * cannot cross between them (another file system, or another mount of it). Folders that do not
 * exist yet are not checked (the run makes them, then checks). */
static int probe_move(const char *from, const char *from_key, const char *to, const char *to_key,
                      const char *why, struct bz_err *err)
{
    char a[AREAS_PATH_BYTES], b[AREAS_PATH_BYTES];
    int fd, e = 0;

    snprintf(a, sizeof(a), "%s/.bizoope-probe-%d", from, (int)getpid());
    snprintf(b, sizeof(b), "%s/.bizoope-probe-%d", to, (int)getpid());
    fd = open(a, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return BZ_OK; /* not there yet, or not ours to write: the areas' own checks say so */
    }
    close(fd);
    if (rename(a, b) != 0) {
        e = errno;
        unlink(a);
    } else {
        unlink(b);
    }
    if (e == EXDEV) {
        return bz_err_set(err, BZ_E_INVALID_INPUT,
                          "%s (%s) and %s (%s) are on different file systems (or mounts): %s, "
                          "which a rename cannot do across them; put both on one file system",
                          from_key, from, to_key, to, why);
    }
    return BZ_OK;
}

int areas_check_moves(const struct bz_config *cfg, struct bz_err *err)
{
    int rc = probe_move(cfg->inbox_dir, "paths.inbox", cfg->quarantine_dir, "paths.quarantine",
                        "a rejected file is moved from one to the other unread", err);

    if (rc == BZ_OK) {
        rc = probe_move(cfg->backup_dir, "paths.backup", cfg->quarantine_dir, "paths.quarantine",
                        "a refused compressed file's backup is moved to quarantine", err);
    }
    if (rc == BZ_OK) {
        rc = probe_move(cfg->temp_dir, "paths.temp", cfg->outbox_dir, "paths.outbox",
                        "error files are written in temp and renamed into the outbox when "
                        "complete",
                        err);
    }
    if (rc == BZ_OK) {
        rc = probe_move(cfg->temp_dir, "paths.temp", cfg->inbox_dir, "paths.inbox",
                        "with storage.backend gcs, objects are downloaded in temp and renamed into "
                        "the inbox when complete",
                        err);
    }
    return rc;
}

int areas_lock(const struct bz_config *cfg, int *fd, struct bz_err *err)
{
    char path[AREAS_PATH_BYTES];

    snprintf(path, sizeof(path), "%s.lock", cfg->state_path);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        return bz_err_set(err, BZ_E_IO, "cannot open the lock file %s: %s", path, strerror(errno));
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        return bz_err_set(err, BZ_E_CONFLICT,
                          "another bizoope run is working on this installation (lock %s is "
                          "held); stop it first",
                          path);
    }
    return BZ_OK;
}
