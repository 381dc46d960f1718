/*
 * fuzz_object: mesh_obj_parse() and mesh_obj_from_body() on arbitrary bytes.
 *
 * The input, cut at its first NUL (files with a NUL are refused before the
 * parser sees them), is parsed as a `weft apply` file named "fuzz.ini".
 * Then what object.h promises is checked:
 *
 *   refused   no objects, at least one error, every error one line that
 *             starts with "fuzz.ini" (FILE:LINE: ... or FILE: ...);
 *   accepted  1-256 objects, each with a body of at most 16 KiB whose
 *             length is body_len, and
 *
 *               file --parse--> objs --render all--> text --parse--> objs2
 *
 *             gives the same kinds, names and bodies byte for byte, and
 *             mesh_obj_from_body(kind, name, body) gives the body back
 *             (what the replication layer stores is a fixed point).
 *
 * The raw input is also offered as a stored body of each kind (the whole
 * input, NULs included, as it would arrive from a peer): accepted or not,
 * never a crash, and an accepted body's canonical form is a fixed point.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mesh/object.h"

#define NAME "fuzz.ini"

static void check_errors(const struct config_errs *errs, const struct mesh_obj_file *f)
{
    FUZZ_CHECK(f->n == 0 && !f->objs, "refused file left %zu objects", f->n);
    FUZZ_CHECK(errs->n > 0, "mesh_obj_parse refused without an error");
    for (size_t i = 0; i < errs->n; i++) {
        const char *line = errs->lines[i];
        FUZZ_CHECK(strncmp(line, NAME, strlen(NAME)) == 0, "error without the file: %s", line);
        FUZZ_CHECK(!strchr(line, '\n'), "error spans lines: %s", line);
    }
}

/* from_body on an object's own body gives the same body. */
static void check_body_fixed_point(const struct mesh_obj *o)
{
    struct mesh_obj back;
    struct weft_err e;
    err_clear(&e);
    int rc =
        mesh_obj_from_body(mesh_obj_kind_name(o->kind), o->name, o->body, o->body_len, &back, &e);
    if (rc != 0 && strstr(e.msg, "out of memory"))
        return;
    FUZZ_CHECK(rc == 0, "from_body refuses a canonical body: %s\n%s", e.msg, o->body);
    FUZZ_CHECK(back.body_len == o->body_len && strcmp(back.body, o->body) == 0,
               "from_body changes a canonical body:\n%s---\n%s", o->body, back.body);
    mesh_obj_deinit(&back);
}

static void check_round_trip(const struct mesh_obj_file *f)
{
    struct sbuf all;
    struct config_errs errs;
    struct mesh_obj_file g = {NULL, 0};
    FUZZ_CHECK(f->n >= 1 && f->n <= MESH_OBJ_FILE_MAX, "%zu objects", f->n);
    sbuf_init(&all);
    config_errs_init(&errs);
    for (size_t i = 0; i < f->n; i++) {
        const struct mesh_obj *o = &f->objs[i];
        FUZZ_CHECK(o->body && strlen(o->body) == o->body_len, "body length");
        FUZZ_CHECK(o->body_len <= MESH_OBJ_BODY_MAX, "body of %zu bytes", o->body_len);
        mesh_obj_render(o, &all);
        check_body_fixed_point(o);
    }
    if (all.oom)
        goto out;
    if (mesh_obj_parse(NAME, sbuf_str(&all), &g, &errs) != 0) {
        struct sbuf m;
        sbuf_init(&m);
        config_errs_format(&errs, &m);
        FUZZ_CHECK(0, "rendered objects do not parse:\n%s--- rendered:\n%s", sbuf_str(&m),
                   sbuf_str(&all));
    }
    FUZZ_CHECK(g.n == f->n, "%zu objects became %zu", f->n, g.n);
    for (size_t i = 0; i < f->n; i++) {
        FUZZ_CHECK(g.objs[i].kind == f->objs[i].kind, "kind changed");
        FUZZ_CHECK(strcmp(g.objs[i].name, f->objs[i].name) == 0, "name changed");
        FUZZ_CHECK(strcmp(g.objs[i].body, f->objs[i].body) == 0, "body not stable:\n%s---\n%s",
                   f->objs[i].body, g.objs[i].body);
    }
out:
    mesh_obj_file_deinit(&g);
    config_errs_deinit(&errs);
    sbuf_deinit(&all);
}

/* The raw bytes as a stored body. */
static void check_raw_body(const uint8_t *data, size_t size, const char *kind, const char *name)
{
    struct mesh_obj o;
    struct weft_err e;
    if (mesh_obj_from_body(kind, name, (const char *)data, size, &o, &e) != 0) {
        FUZZ_CHECK(!o.body, "refused body left a body");
        FUZZ_CHECK(e.msg[0] && !strchr(e.msg, '\n'), "bad error: %s", e.msg);
        return;
    }
    check_body_fixed_point(&o);
    mesh_obj_deinit(&o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct config_errs errs;
    struct mesh_obj_file f = {NULL, 0};
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    config_errs_init(&errs);
    if (mesh_obj_parse(NAME, text, &f, &errs) == 0)
        check_round_trip(&f);
    else if (!(errs.n == 1 && strstr(errs.lines[0], "out of memory")))
        check_errors(&errs, &f);
    mesh_obj_file_deinit(&f);
    config_errs_deinit(&errs);
    free(text);
    check_raw_body(data, size, "policy", "p");
    check_raw_body(data, size, "policy", "default");
    check_raw_body(data, size, "upstream-defaults", "*");
    return 0;
}
