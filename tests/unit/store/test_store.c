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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_and_migrates, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_meta_persists, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_one_store_per_dir, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_debug_writes_sequence, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_corrupt_refused_untouched, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_unwritable_dir, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
