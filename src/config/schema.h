/*
 * schema: the private side of config/ — the key table and the value types.
 *
 * Every key weft understands is one struct config_key row in config_keys[]
 * (schema.c). A row says where the key lives (section, name), what it holds
 * (type, bounds, enum names, an optional per-key check), where the value goes
 * (offset and size in struct weft_config), its default written as INI text,
 * whether SIGHUP may change it, and one line of documentation. Parsing,
 * defaults, validation, `config show`, `config_diff` and the tests that hold
 * configs/weft.ini and docs/configuration.md to the table all walk this one
 * array, so adding a key is adding a row (and a field in config_types.h).
 *
 * Value storage by type (the row's size must match; a unit test checks it):
 *
 *   STRING, PATH, ADDRESS   char *     heap copy, NULL = unset
 *   BOOL                    bool
 *   ENUM                    an enum    int-sized, values 0..count-1
 *   DURATION                int64_t    milliseconds
 *   SIZE                    uint64_t   bytes
 *   INT                     int32_t or int64_t (row size 4 or 8)
 *   MODE                    unsigned   permission bits, at most 0777
 *   DOMAINS                 uint32_t   bit (1 << enum log_domain)
 *
 * Defaults go through the same parser as file values, so a default that
 * would not parse is caught by the tests, not shipped.
 *
 * Not part of the public API: only config/ and its unit tests include this.
 */
#ifndef WEFT_CONFIG_SCHEMA_H
#define WEFT_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config_types.h"
#include "core/err.h"
#include "core/sbuf.h"

enum config_type {
    CONFIG_T_STRING,
    CONFIG_T_PATH,
    CONFIG_T_BOOL,
    CONFIG_T_ENUM,
    CONFIG_T_DURATION,
    CONFIG_T_SIZE,
    CONFIG_T_INT,
    CONFIG_T_ADDRESS,
    CONFIG_T_MODE,
    CONFIG_T_DOMAINS,
    CONFIG_T_MAX
};

/* Row flags. */
#define CONFIG_KEY_RELOAD (1u << 0)   /* SIGHUP applies a new value live */
#define CONFIG_KEY_OPTIONAL (1u << 1) /* empty value = unset (NULL / off) */
#define CONFIG_KEY_COMPUTED (1u << 2) /* empty value = computed after parsing */
#define CONFIG_KEY_SECRET (1u << 3)   /* a credential: show never prints its value */
#define CONFIG_KEY_REQUIRED (1u << 4) /* [KIND NAME] keys: no default, each section sets it */

/* Room for the table; arrays indexed by key or section are this big. */
#define CONFIG_KEYS_MAX 128
#define CONFIG_SECTIONS_MAX 32

/* Names of an enum type: values are 0..count-1. */
struct config_enum {
    int count;
    const char *(*name)(int v);
    int (*parse)(const char *s, int *out); /* 0, or -1 if unknown */
};

/*
 * A per-key check on an already parsed value (field points into the struct).
 * Returns 0, or -1 with the message in e. NULL strings (unset) are passed
 * too; checks accept them unless the key needs a value.
 */
typedef int (*config_check_fn)(const void *field, struct weft_err *e);

struct config_key {
    const char *section;
    const char *name;
    enum config_type type;
    const char *def;                   /* default as INI text; "" = empty (see flags) */
    const char *def_doc;               /* NULL, or what an empty default means (docs, show) */
    size_t offset;                     /* of the field in struct weft_config */
    size_t size;                       /* of the field */
    int64_t min, max;                  /* INT always; DURATION (ms) and SIZE when not both 0 */
    const struct config_enum *choices; /* ENUM */
    config_check_fn check;             /* NULL = the type's rules only */
    unsigned flags;                    /* CONFIG_KEY_* */
    const char *doc;                   /* one line, for show, docs and weft.ini */
};

struct config_section {
    const char *name;
    const char *doc;
};

/*
 * Named sections: "[KIND NAME]", repeatable, one item per section (e.g.
 * [service web]). A kind is one struct config_kind row plus a struct for
 * its items: the rows in `keys` are ordinary key rows whose offsets point
 * into that struct (section = the kind's name), so parsing, defaults,
 * show, diff and free walk them with the same value operations as the
 * fixed sections. The items live in a struct config_list of struct
 * weft_config, in file order. Adding a kind (as [upstream NAME] was) is
 * a struct in config_types.h, its rows, and a row in config_kinds[].
 */
#define CONFIG_KIND_KEYS_MAX 32
#define CONFIG_KINDS_MAX 8

/*
 * A check of one whole item, once the file and the defaults are in: rules
 * that involve several keys, and computed values (it may change the item).
 * key_line[i] is the line of the kind's key i, 0 when not in the file.
 * Returns 0, or -1 with the message in e and *key naming the key to blame
 * (its line is used when set, else the header's); *key NULL = the header.
 */
typedef int (*config_item_check_fn)(void *item, const int *key_line, const char **key,
                                    struct weft_err *e);

struct config_kind {
    const char *name;              /* "service": sections [service NAME] */
    const char *plural;            /* "services", for messages */
    const char *doc;               /* one line */
    const struct config_key *keys; /* offsets into the item struct */
    size_t nkeys;
    size_t item_size;           /* sizeof the item struct */
    size_t name_offset;         /* of its `char *name` (the NAME of the header) */
    size_t list_offset;         /* of its struct config_list in struct weft_config */
    size_t max;                 /* sections of this kind at most */
    config_item_check_fn check; /* NULL = the rows' rules only */
    unsigned flags;             /* CONFIG_KEY_RELOAD: SIGHUP adds, removes, changes items */
};

/* The table (schema.c), in the order `config show` prints it. */
extern const struct config_key config_keys[];
extern const size_t config_keys_count;
extern const struct config_section config_sections[];
extern const size_t config_sections_count;
extern const struct config_kind config_kinds[];
extern const size_t config_kinds_count;

/** The row for section.name, or NULL. */
const struct config_key *config_schema_key(const char *section, const char *name);
/** The index of a section by name, or -1. */
int config_schema_section(const char *name);
/** Index of a row in config_keys[]. */
size_t config_schema_index(const struct config_key *k);
/** The index of a kind of named section by name, or -1. */
int config_schema_kind(const char *name);
/** The row of a kind's key, or NULL. */
const struct config_key *config_kind_key(const struct config_kind *kd, const char *name);
/** The type's name as docs print it ("duration", "bool", ...). */
const char *config_type_name(enum config_type t);
/** The storage size a type needs (0 for INT: 4 or 8 are both fine). */
size_t config_type_size(enum config_type t);

/** Address of a row's field inside cfg. */
static inline void *config_field(struct weft_config *cfg, const struct config_key *k)
{
    return (char *)cfg + k->offset;
}
static inline const void *config_field_const(const struct weft_config *cfg,
                                             const struct config_key *k)
{
    return (const char *)cfg + k->offset;
}

/** The list of a kind's items inside cfg. */
static inline struct config_list *config_kind_list(struct weft_config *cfg,
                                                   const struct config_kind *kd)
{
    return (struct config_list *)((char *)cfg + kd->list_offset);
}
static inline const struct config_list *config_kind_list_const(const struct weft_config *cfg,
                                                               const struct config_kind *kd)
{
    return (const struct config_list *)((const char *)cfg + kd->list_offset);
}
/** Item i of a kind's list. */
static inline void *config_kind_item(const struct config_kind *kd, const struct config_list *l,
                                     size_t i)
{
    return (char *)l->items + i * kd->item_size;
}
/** The NAME of an item. */
static inline const char *config_item_name(const struct config_kind *kd, const void *item)
{
    return *(char *const *)((const char *)item + kd->name_offset);
}
/** A row's field inside an item of its kind. */
static inline void *config_item_field(void *item, const struct config_key *k)
{
    return (char *)item + k->offset;
}
static inline const void *config_item_field_const(const void *item, const struct config_key *k)
{
    return (const char *)item + k->offset;
}
/** Release everything an item owns (its name and fields); it is zeroed. */
void config_item_free(const struct config_kind *kd, void *item);
/** Free every item of every kind in cfg and empty the lists. */
void config_lists_free(struct weft_config *cfg);
/** True if two items of a kind hold the same name and values. */
bool config_item_equal(const struct config_kind *kd, const void *a, const void *b);
/** Make dst a deep copy of src (dst's old items are freed). Returns 0, or -1 on OOM (dst kept). */
int config_list_copy(const struct config_kind *kd, struct config_list *dst,
                     const struct config_list *src);
/** The item of a list called name, or NULL. */
const void *config_list_find(const struct config_kind *kd, const struct config_list *l,
                             const char *name);

/*
 * Value operations (value.c), one switch on the type each.
 */

/**
 * Parse INI text into the field: the type's rules, the bounds, then the
 * row's check. On success the old value is released. Returns 0, or -1 with
 * a message in e (the field is then unchanged).
 */
int config_value_parse(const struct config_key *k, const char *text, void *field,
                       struct weft_err *e);
/** Append the value as INI text that config_value_parse reads back. */
void config_value_format(const struct config_key *k, const void *field, struct sbuf *out);
/** True if two fields hold the same value. */
bool config_value_equal(const struct config_key *k, const void *a, const void *b);
/** Copy src into dst (releasing dst's old value). Returns 0, or -1 on OOM. */
int config_value_copy(const struct config_key *k, void *dst, const void *src);
/** Release what the field owns and reset it; safe on a zeroed field. */
void config_value_free(const struct config_key *k, void *field);

/**
 * Split "host:port" or "[v6]:port" into host (without brackets) and port.
 * Hosts are IPv4 literals, bracketed IPv6 literals or DNS names. Returns 0,
 * or -1 with a message in e.
 */
int config_addr_split(const char *s, char *host, size_t host_cap, unsigned *port,
                      struct weft_err *e);

/*
 * Per-key checks (validate.c), named in the table.
 */

/**
 * Check a DNS name: 1-253 chars, dot-separated labels of 1-63 letters,
 * digits and '-' (not first or last). With `lowercase`, A-Z are refused.
 * Returns 0, or -1 with "'NAME' <reason>" in e.
 */
int config_dns_name_check(const char *s, bool lowercase, struct weft_err *e);
/** node.name: 1-63 of [A-Za-z0-9._-], starting alnum; NULL (= host name) passes. */
int config_check_node_name(const void *field, struct weft_err *e);
/** node.trust_domain: a lowercase DNS name, no scheme, path or port. */
int config_check_trust_domain(const void *field, struct weft_err *e);
/** admin.listen: host is 127.x.x.x, [::1] or localhost; NULL (= off) passes. */
int config_check_loopback(const void *field, struct weft_err *e);
/** admin.socket_mode: nothing for "other", read+write for the owner. */
int config_check_socket_mode(const void *field, struct weft_err *e);
/** An IP address literal, v4 or v6 without brackets (no host names). */
int config_check_ip(const void *field, struct weft_err *e);
/** An HTTP path: starts with '/', printable ASCII, no blanks. */
int config_check_http_path(const void *field, struct weft_err *e);
/** [service] tags: comma-separated words and key=value (validate.c). */
int config_check_service_tags(const void *field, struct weft_err *e);
/** The whole-item check of [service NAME] (config_item_check_fn). */
int config_check_service(void *item, const int *key_line, const char **key, struct weft_err *e);
/** A name (config_name_check) or NULL (unset): [upstream] service, from. */
int config_check_name_opt(const void *field, struct weft_err *e);
/** [proxy] advertise: IP literal:port, not a wildcard; NULL (= derived) passes. */
int config_check_advertise(const void *field, struct weft_err *e);
/** [upstream] tls_sni: a DNS name, not an IP address; NULL passes. */
int config_check_sni(const void *field, struct weft_err *e);
/** The whole-item check of [upstream NAME] (config_item_check_fn). */
int config_check_upstream(void *item, const int *key_line, const char **key, struct weft_err *e);
/** [mesh] writers: comma-separated node names or spiffe://TD/node/NAME IDs. */
int config_check_mesh_writers(const void *field, struct weft_err *e);
/** [gossip] join: comma-separated IP:port list (validate.c). */
int config_check_gossip_join(const void *field, struct weft_err *e);
/** [gossip] tags: k=v,... that fits Serf's 512-byte meta with weft's own tags. */
int config_check_gossip_tags(const void *field, struct weft_err *e);

#endif
