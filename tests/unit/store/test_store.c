/*
 * store/: open, lock, migrate, integrity check, durable writes, reopen.
 * Each test works in its own temp dir.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/store.h"

#include <sqlite3.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup_dir(void **state)
{
    char *tmpl = strdup("/tmp/weft-store-test.XXXXXX");
    if (!tmpl || !mkdtemp(tmpl))
        return -1;
    *state = tmpl;
    return 0;
}

static int teardown_dir(void **state)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", (char *)*state);
    int rc = system(cmd);
    free(*state);
    return rc == 0 ? 0 : -1;
}

static void sub(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void test_open_creates_and_migrates(void **state)
{
    char data[300], db[320];
    struct weft_err e = {{0}};
    sub(data, sizeof(data), *state, "a/b/data");
    struct store *st = store_open(data, &e);
    assert_non_null(st);
    assert_int_equal(store_schema_version(st), store_schema_latest());
    assert_true(store_schema_latest() >= 1);
    sub(db, sizeof(db), data, "weft.db");
    assert_string_equal(store_path(st), db);
    assert_true(store_size_bytes(st) > 0);
    struct stat sb;
    assert_int_equal(stat(data, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    store_close(st);

    /* WAL is recorded in the file itself; an outside reader sees it. */
    sqlite3 *raw;
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(raw, "SELECT count(*) FROM schema_version", -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), store_schema_latest());
    sqlite3_finalize(q);
    sqlite3_close(raw);
}

static void test_meta_persists(void **state)
{
    char buf[64];
    struct weft_err e = {{0}};
    struct store *st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_meta_get(st, "k", buf, sizeof(buf), &e), 0);
    assert_int_equal(store_meta_set(st, "k", "v1", &e), 0);
    assert_int_equal(store_meta_set(st, "k", "v2", &e), 0);
    assert_int_equal(store_meta_get(st, "k", buf, sizeof(buf), &e), 1);
    assert_string_equal(buf, "v2");
    store_close(st);

    st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_meta_get(st, "k", buf, sizeof(buf), &e), 1);
    assert_string_equal(buf, "v2");
    /* A value longer than the buffer is truncated, never overflowed. */
    assert_int_equal(store_meta_set(st, "long", "0123456789abcdef", &e), 0);
    char small[8];
    assert_int_equal(store_meta_get(st, "long", small, sizeof(small), &e), 1);
    assert_string_equal(small, "0123456");
    store_close(st);
}

static void test_one_store_per_dir(void **state)
{
    struct weft_err e = {{0}};
    struct store *a = store_open(*state, &e);
    assert_non_null(a);
    struct store *b = store_open(*state, &e);
    assert_null(b);
    assert_non_null(strstr(e.msg, "in use by another weft agent"));
    char pid[32];
    snprintf(pid, sizeof(pid), "(pid %ld)", (long)getpid());
    assert_non_null(strstr(e.msg, pid));
    store_close(a);
    /* Released at close. */
    b = store_open(*state, &e);
    assert_non_null(b);
    store_close(b);
}

static void test_debug_writes_sequence(void **state)
{
    struct weft_err e = {{0}};
    int64_t s1 = 0, s2 = 0;
    struct store *st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_debug_write(st, "a", "1", &s1, &e), 0);
    assert_int_equal(store_debug_write(st, "b", "2", &s2, &e), 0);
    assert_true(s2 > s1);
    assert_int_equal(store_debug_count(st, &e), 2);
    store_close(st);
    st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_debug_count(st, &e), 2);
    store_close(st);
}

static void test_corrupt_refused_untouched(void **state)
{
    char db[320];
    struct weft_err e = {{0}};
    sub(db, sizeof(db), *state, "weft.db");
    FILE *f = fopen(db, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++)
        fputc((i * 7919) & 0xff, f);
    fclose(f);
    struct store *st = store_open(*state, &e);
    assert_null(st);
    assert_non_null(strstr(e.msg, "is corrupt"));
    assert_non_null(strstr(e.msg, "will not rebuild"));
    struct stat sb;
    assert_int_equal(stat(db, &sb), 0);
    assert_int_equal(sb.st_size, 4096); /* not rebuilt, not truncated */
}

static void test_newer_schema_refused(void **state)
{
    char db[320];
    struct weft_err e = {{0}};
    struct store *st = store_open(*state, &e);
    assert_non_null(st);
    store_close(st);
    sub(db, sizeof(db), *state, "weft.db");
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw, "INSERT INTO schema_version VALUES (1000, 0)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    st = store_open(*state, &e);
    assert_null(st);
    assert_non_null(strstr(e.msg, "newer than this weft knows"));
}

static void test_unwritable_dir(void **state)
{
    struct weft_err e = {{0}};
    char blocker[320], data[340];
    sub(blocker, sizeof(blocker), *state, "file");
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(data, sizeof(data), "%s/sub", blocker); /* a path through a file */
    assert_null(store_open(data, &e));
    assert_non_null(strstr(e.msg, "creating"));
}

/*
 * Disk errors: SQLite's unix VFS lets a test replace its system calls
 * (xSetSystemCall, as SQLite's own test_syscall.c does). Every write path
 * the VFS may use (write, pwrite, pwrite64) fails with EIO once armed; a
 * write that did not reach the disk must be reported as failed, never
 * acknowledged, and the store must work again once the disk does.
 */
static bool g_fail_writes;
static sqlite3_syscall_ptr g_real[3];
static const char *const g_names[3] = {"write", "pwrite", "pwrite64"};

static ssize_t fail_write(int fd, const void *buf, size_t n)
{
    if (g_fail_writes) {
        errno = EIO;
        return -1;
    }
    return ((ssize_t(*)(int, const void *, size_t))g_real[0])(fd, buf, n);
}

static ssize_t fail_pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (g_fail_writes) {
        errno = EIO;
        return -1;
    }
    return ((ssize_t(*)(int, const void *, size_t, off_t))g_real[1])(fd, buf, n, off);
}

static ssize_t fail_pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    if (g_fail_writes) {
        errno = EIO;
        return -1;
    }
    return ((ssize_t(*)(int, const void *, size_t, off_t))g_real[2])(fd, buf, n, off);
}

static void test_write_error_is_not_acknowledged(void **state)
{
    struct weft_err e = {{0}};
    int64_t seq = 0;
    sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
    assert_non_null(vfs);
    assert_non_null(vfs->xSetSystemCall);
    sqlite3_syscall_ptr fakes[3] = {(sqlite3_syscall_ptr)fail_write,
                                    (sqlite3_syscall_ptr)fail_pwrite,
                                    (sqlite3_syscall_ptr)fail_pwrite64};
    int replaced = 0;
    for (int i = 0; i < 3; i++) {
        g_real[i] = vfs->xGetSystemCall(vfs, g_names[i]);
        if (g_real[i] && vfs->xSetSystemCall(vfs, g_names[i], fakes[i]) == SQLITE_OK)
            replaced++;
    }
    assert_true(replaced > 0);

    struct store *st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_debug_write(st, "before", "1", &seq, &e), 0);

    g_fail_writes = true;
    err_clear(&e);
    assert_int_equal(store_debug_write(st, "lost", "2", &seq, &e), -1);
    assert_non_null(strstr(e.msg, "write to"));
    err_clear(&e);
    assert_int_equal(store_meta_set(st, "k", "v", &e), -1);
    g_fail_writes = false;

    /* The disk is back: the same open store writes again. */
    assert_int_equal(store_debug_write(st, "after", "3", &seq, &e), 0);
    store_close(st);

    /* Reopened: exactly what was acknowledged is there. */
    st = store_open(*state, &e);
    assert_non_null(st);
    assert_int_equal(store_debug_count(st, &e), 2);
    char buf[8];
    assert_int_equal(store_meta_get(st, "k", buf, sizeof(buf), &e), 0);
    store_close(st);

    for (int i = 0; i < 3; i++)
        if (g_real[i])
            vfs->xSetSystemCall(vfs, g_names[i], g_real[i]);
}

struct members_seen {
    size_t n;
    char names[4][32];
    char addrs[4][64];
    unsigned ports[4];
    char status[4][16];
};

static int collect_member(void *ud, const struct store_member *r)
{
    struct members_seen *m = ud;
    if (m->n >= 4)
        return -1;
    snprintf(m->names[m->n], sizeof(m->names[0]), "%s", r->name);
    snprintf(m->addrs[m->n], sizeof(m->addrs[0]), "%s", r->addr);
    m->ports[m->n] = r->port;
    snprintf(m->status[m->n], sizeof(m->status[0]), "%s", r->status);
    assert_true(r->updated_ms > 0);
    m->n++;
    return 0;
}

static void test_gossip_members(void **state)
{
    struct weft_err e = {{0}};
    struct members_seen seen;
    struct store *st = store_open(*state, &e);
    assert_non_null(st);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), 0);
    assert_int_equal(seen.n, 0);

    const struct store_member rows[] = {
        {.name = "gw-b", .addr = "127.0.0.1", .port = 7946, .status = "alive"},
        {.name = "gw-a", .addr = "::1", .port = 7947, .status = "dead"},
        {.name = "gw-c", .addr = "10.0.0.3", .port = 65535, .status = "left"},
    };
    assert_int_equal(store_members_replace(st, rows, 3, &e), 0);
    store_close(st);

    /* Durable across a reopen; read back by name. */
    st = store_open(*state, &e);
    assert_non_null(st);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.names[0], "gw-a");
    assert_string_equal(seen.addrs[0], "::1");
    assert_int_equal(seen.ports[0], 7947);
    assert_string_equal(seen.status[0], "dead");
    assert_string_equal(seen.names[1], "gw-b");
    assert_string_equal(seen.status[1], "alive");
    assert_int_equal(seen.ports[2], 65535);

    /* A bad row (port 0, unknown status) fails the whole replace: the table
     * keeps what it held. */
    const struct store_member bad[] = {
        {.name = "gw-d", .addr = "127.0.0.4", .port = 7946, .status = "alive"},
        {.name = "gw-e", .addr = "127.0.0.5", .port = 0, .status = "alive"},
    };
    assert_int_equal(store_members_replace(st, bad, 2, &e), -1);
    assert_non_null(strstr(e.msg, "gossip members"));
    const struct store_member bad_status = {
        .name = "gw-f", .addr = "127.0.0.6", .port = 1, .status = "zombie"};
    assert_int_equal(store_members_replace(st, &bad_status, 1, &e), -1);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), 0);
    assert_int_equal(seen.n, 3);

    /* A replace drops rows not in the new set; n = 0 clears. */
    assert_int_equal(store_members_replace(st, &rows[1], 1, &e), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.names[0], "gw-a");
    /* A callback that stops makes the walk fail. */
    seen.n = 4;
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), -1);
    assert_int_equal(store_members_replace(st, NULL, 0, &e), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_members_each(st, collect_member, &seen, &e), 0);
    assert_int_equal(seen.n, 0);
    store_close(st);
}

struct ca_seen {
    char lines[4][200];
    int n;
};

static int collect_ca_node(void *ud, const struct store_ca_node *n)
{
    struct ca_seen *s = ud;
    if (s->n < 4)
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s|%s|%s|%lld", n->node, n->roots,
                 n->issuers, (long long)n->seen_s);
    s->n++;
    return 0;
}

/* ca_nodes: what the CA last heard, replaced per node; enrolled nodes never
 * heard from are listed too, with nothing reported. */
static void test_ca_nodes(void **state)
{
    struct weft_err e = {{0}};
    struct store *st = store_open(*state, &e);
    struct ca_seen seen = {0};
    assert_non_null(st);
    struct store_ca_node a = {.node = "n1", .roots = "aa,bb", .issuers = "aa", .seen_s = 10};
    struct store_ca_node b = {.node = "n2", .roots = "aa", .issuers = "aa", .seen_s = 11};
    assert_int_equal(store_ca_node_put(st, &a, &e), 0);
    assert_int_equal(store_ca_node_put(st, &b, &e), 0);
    a.issuers = "bb";
    a.seen_s = 12;
    assert_int_equal(store_ca_node_put(st, &a, &e), 0);
    assert_int_equal(store_enroll_add(st, "n0", "web", "token", 5, &e), 0);
    assert_int_equal(store_enroll_add(st, "n1", "web", "proof", 5, &e), 0);
    assert_int_equal(store_ca_node_each(st, collect_ca_node, &seen, &e), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.lines[0], "n0|||0");
    assert_string_equal(seen.lines[1], "n1|aa,bb|bb|12");
    assert_string_equal(seen.lines[2], "n2|aa|aa|11");
    store_close(st);
    /* Durable: a new open sees the same. */
    st = store_open(*state, &e);
    assert_non_null(st);
    seen.n = 0;
    assert_int_equal(store_ca_node_each(st, collect_ca_node, &seen, &e), 0);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.lines[1], "n1|aa,bb|bb|12");
    store_close(st);
}

struct mesh_seen {
    char lines[8][160];
    int n;
};

static int collect_mesh(void *ud, const struct store_mesh_rec *r)
{
    struct mesh_seen *s = ud;
    if (s->n < 8)
        snprintf(s->lines[s->n], sizeof(s->lines[0]), "%s/%s@%llu:%s:%d:%.*s", r->kind, r->name,
                 (unsigned long long)r->hlc, r->writer, r->deleted, (int)r->body_len,
                 (const char *)r->body);
    s->n++;
    return 0;
}

static int collect_hist(void *ud, const struct store_mesh_rec *r, int64_t received_ms)
{
    assert_true(received_ms > 0);
    return collect_mesh(ud, r);
}

/* Mesh records: replaced per key, every version in the history (oldest
 * first, filtered), tombstones removable only at their version, pruning,
 * and all of it still there after a reopen. */
static void test_mesh_records(void **state)
{
    struct weft_err e = {{0}};
    struct store *st = store_open(*state, &e);
    struct mesh_seen seen = {0};
    assert_non_null(st);
    const struct store_mesh_rec first[] = {
        {.kind = "policy", .name = "a", .hlc = 100, .writer = "w1", .body = "x=1", .body_len = 3},
        {.kind = "policy", .name = "b", .hlc = 101, .writer = "w1", .body = "y=2", .body_len = 3},
    };
    assert_int_equal(store_mesh_put(st, first, 2, 1000, &e), 0);
    const struct store_mesh_rec del = {
        .kind = "policy", .name = "a", .hlc = 200, .writer = "w2", .deleted = true};
    assert_int_equal(store_mesh_put(st, &del, 1, 2000, &e), 0);
    assert_int_equal(store_mesh_each(st, collect_mesh, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.lines[0], "policy/a@200:w2:1:");
    assert_string_equal(seen.lines[1], "policy/b@101:w1:0:y=2");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_history(st, "policy", "a", 10, collect_hist, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_string_equal(seen.lines[0], "policy/a@100:w1:0:x=1");
    assert_string_equal(seen.lines[1], "policy/a@200:w2:1:");
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_history(st, NULL, NULL, 2, collect_hist, &seen, &e), 0);
    assert_int_equal(seen.n, 2); /* the newest two, oldest first */
    assert_string_equal(seen.lines[0], "policy/b@101:w1:0:y=2");
    /* GC drops tombstones below the floor only; live rows stay. */
    assert_int_equal(store_mesh_gc(st, 200, &e), 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_each(st, collect_mesh, &seen, &e), 0);
    assert_int_equal(seen.n, 2);
    assert_int_equal(store_mesh_gc(st, 201, &e), 0);
    store_close(st);

    st = store_open(*state, &e);
    assert_non_null(st);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_each(st, collect_mesh, &seen, &e), 0);
    assert_int_equal(seen.n, 1);
    assert_string_equal(seen.lines[0], "policy/b@101:w1:0:y=2");
    /* The history is pruned to its newest rows. */
    enum { N = STORE_MESH_HISTORY_MAX + 5 };
    struct store_mesh_rec *many = calloc(N, sizeof(*many));
    assert_non_null(many);
    for (size_t i = 0; i < N; i++)
        many[i] =
            (struct store_mesh_rec){.kind = "policy", .name = "c", .hlc = 300 + i, .writer = "w3"};
    assert_int_equal(store_mesh_put(st, many, N, 3000, &e), 0);
    free(many);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_history(st, NULL, NULL, N + 10, collect_hist, &seen, &e), 0);
    assert_int_equal(seen.n, STORE_MESH_HISTORY_MAX);
    assert_string_equal(seen.lines[0], "policy/c@305:w3:0:");
    /* An out-of-range stamp refuses the whole write. */
    const struct store_mesh_rec bad[] = {
        {.kind = "policy", .name = "d", .hlc = 1, .writer = "w"},
        {.kind = "policy", .name = "e", .hlc = UINT64_MAX, .writer = "w"},
    };
    assert_int_equal(store_mesh_put(st, bad, 2, 4000, &e), -1);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(store_mesh_each(st, collect_mesh, &seen, &e), 0);
    assert_int_equal(seen.n, 2); /* b and c; not d */
    store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_and_migrates, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_meta_persists, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_one_store_per_dir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_debug_writes_sequence, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_gossip_members, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ca_nodes, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_mesh_records, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_refused_untouched, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_write_error_is_not_acknowledged, setup_dir,
                                        teardown_dir),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
