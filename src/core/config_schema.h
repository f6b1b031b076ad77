/*
 * config_schema.h — a configuration described by a table of keys.
 *
 * A configuration is a plain C struct.  A table of key descriptors
 * (cq_cfg_key_t) gives, for each field, its key name, type, default (in
 * the syntax of the file), range, offset into the struct, whether a SIGHUP
 * reload can apply a change live, and a one-line doc.  The one table drives
 * everything: defaults, loading YAML (config_yaml.c), setting a key from
 * the command line, printing a configuration back as YAML, and the diff
 * between two configurations at reload.  So adding a key is one table row
 * and one struct field (and its documentation).
 *
 * comqttd's own table is in conf.c; anything else with a YAML file of its
 * own can describe it with a table of its own and reuse the engine.
 *
 * Memory: strings and string lists in a configuration struct are owned by
 * it (malloc) and released by cq_cfg_free(); everything else is inline, so
 * a struct loaded from the defaults needs no other cleanup.
 *
 * Errors come back as malloc'd strings in *error_r (the caller frees them;
 * NULL means out of memory), in the form
 * "FILE:LINE:COLUMN: KEY.PATH: what is wrong".
 */
#ifndef CQ_CORE_CONFIG_SCHEMA_H
#define CQ_CORE_CONFIG_SCHEMA_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum cq_cfg_type {
	CQ_CFG_BOOL, /* bool; true/false/yes/no/on/off */
	CQ_CFG_INT, /* any integer field; min..max */
	CQ_CFG_SIZE, /* integer field; bytes, "1M" (core/units.h) */
	CQ_CFG_DURATION, /* integer field; seconds, "10m" (core/units.h) */
	CQ_CFG_STRING, /* char *; length min..max */
	CQ_CFG_PATH, /* char *; a file name, length min..max */
	CQ_CFG_ENUM, /* integer or enum field; value = index in names */
	CQ_CFG_ADDRESS, /* cq_addr_t (core/addr.h) */
	CQ_CFG_MODE, /* integer field; octal file mode, "0660" */
	CQ_CFG_STRLIST, /* cq_cfg_strlist_t; min..max items */
	CQ_CFG_MAP, /* a nested struct described by 'sub' */
	CQ_CFG_LIST, /* an array of structs described by 'sub' */
} cq_cfg_type_t;

/* Key flags. */
enum {
	/* A SIGHUP reload applies a change without a restart. */
	CQ_CFG_LIVE = 1 << 0,
	/* The key must be written (no default), e.g. a listener's name. */
	CQ_CFG_REQUIRED = 1 << 1,
	/* An integer or size must be a power of two. */
	CQ_CFG_POW2 = 1 << 2,
};

/* CQ_CFG_STRLIST fields. */
typedef struct cq_cfg_strlist {
	char **items;
	size_t n;
} cq_cfg_strlist_t;

/* A position in the file, 1-based; line 0 means "not in the file". */
typedef struct cq_cfg_pos {
	size_t line, col;
} cq_cfg_pos_t;

typedef struct cq_cfg_key cq_cfg_key_t;
typedef struct cq_cfg_table cq_cfg_table_t;
typedef struct cq_cfg_check cq_cfg_check_t;

/*
 * An extra check of one value after its type's own: NULL if 'field' is
 * acceptable, else a static text naming what is expected ("a name of
 * letters, digits, '_', '-' and '.'"), reported as "expected <text>, got
 * <value>".
 */
typedef const char *cq_cfg_valid_fn(const void *field);

/*
 * A check across the keys of one map, run once the map is loaded (and its
 * missing keys hold their defaults).  Report a problem with cq_cfg_fail()
 * and return its -1; return 0 if all is well.
 */
typedef int cq_cfg_check_fn(cq_cfg_check_t *ck);

struct cq_cfg_key {
	const char *name; /* the key in its map: "max_packet_size" */
	cq_cfg_type_t type;
	unsigned flags; /* CQ_CFG_LIVE, ... */
	size_t offset; /* of the field in the table's struct */
	size_t width; /* sizeof the field (integers: 1, 2, 4 or 8) */
	/*
	 * The default, written as in the file ("256M", "info", "" for an
	 * empty string; flow YAML for lists: "[{name: tcp, ...}]").  NULL
	 * for maps and required keys.
	 */
	const char *def;
	/*
	 * Integers, sizes, durations, modes: the inclusive range (a negative
	 * min makes the field signed).  Strings, paths: the length range in
	 * bytes.  Lists: the number of items.
	 */
	int64_t min, max;
	const char *const *names; /* CQ_CFG_ENUM, NULL-terminated */
	const cq_cfg_table_t *sub; /* CQ_CFG_MAP: the struct; LIST: one item */
	size_t count_offset; /* CQ_CFG_LIST: size_t item count */
	cq_cfg_valid_fn *valid; /* NULL or an extra check */
	const char *doc; /* one line, for people */
};

struct cq_cfg_table {
	const char *name; /* "comqttd", "listener": for messages */
	const cq_cfg_key_t *keys;
	size_t n_keys;
	size_t size; /* sizeof the struct */
	cq_cfg_check_fn *check; /* NULL or a check across keys */
};

/* offsetof/sizeof of a field, for a table row: CQ_CFG_AT(cq_config_t, x) */
#define CQ_CFG_AT(type, member)                                                \
	.offset = offsetof(type, member), .width = sizeof(((type *)0)->member)

/*
 * What a cq_cfg_check_fn sees.  For an item of a list, 'list' is the
 * array and 'index' the item's place in it; the items before it are
 * loaded and checked, so a check can look for duplicates among them.
 */
struct cq_cfg_check {
	void *obj;
	void *list;
	size_t index;
	/* For cq_cfg_fail(). */
	const cq_cfg_table_t *table;
	const char *file; /* NULL when no file is involved */
	const char *path; /* of obj: "" at the top, "listeners[1]" */
	cq_cfg_pos_t pos; /* where obj starts */
	const cq_cfg_pos_t *key_pos; /* per key of table: where its value is */
	char **error_r;
};

/*
 * Report a problem with 'key' of ck->obj (at the key's value when the file
 * has it, else at the start of the map; key NULL: the map itself).
 * Always returns -1.
 */
int cq_cfg_fail(cq_cfg_check_t *ck, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A change found by cq_cfg_diff(). */
typedef struct cq_cfg_change {
	const char *path; /* "limits.max_connections", "listeners[0].name" */
	const char *old_value; /* as printed in a configuration file */
	const char *new_value;
	bool live; /* the key, and every list holding it, is CQ_CFG_LIVE */
	const cq_cfg_key_t *key;
} cq_cfg_change_t;

typedef void cq_cfg_change_fn(const cq_cfg_change_t *change, void *ctx);

/* Called by cq_cfg_walk() for every key, maps and lists included. */
typedef void cq_cfg_walk_fn(
	const char *path, const cq_cfg_key_t *key, bool live, void *ctx);

/*
 * Fill 'obj' (t->size bytes, any content) with the defaults of every key.
 * 0, or -1 with *error_r set (out of memory, or a default that does not
 * parse: a bug in the table, which the schema unit test catches).
 */
int cq_cfg_defaults(const cq_cfg_table_t *t, void *obj, char **error_r);

/* Release what 'obj' owns; it then holds no pointers (zero-filled). */
void cq_cfg_free(const cq_cfg_table_t *t, void *obj);

/*
 * Apply a YAML document to 'obj', which holds defaults (or any loaded
 * configuration): keys in the document replace fields; absent keys keep
 * theirs.  'name' names the text in messages (the file name).  On error,
 * returns -1 with *error_r set, and 'obj' may be partly changed but is
 * always safe to cq_cfg_free().
 */
int cq_cfg_load_yaml(const cq_cfg_table_t *t, void *obj, const char *name,
	const char *text, size_t len, char **error_r);

/*
 * Set the key at dotted 'path' ("limits.max_connections") from 'value',
 * written as in the file (lists as flow YAML), then rerun the checks of the
 * map holding it.  'label' names the value in messages ("--workers"), NULL
 * for the path.  0, or -1 with *error_r set; 'obj' may then hold the new
 * value or part of it, and is safe to cq_cfg_free().
 */
int cq_cfg_set(const cq_cfg_table_t *t, void *obj, const char *path,
	const char *value, const char *label, char **error_r);

/*
 * Print 'obj' as a YAML document that loads back to the same values.
 * 0, or -1 if writing to 'out' failed.
 */
int cq_cfg_print(const cq_cfg_table_t *t, const void *obj, FILE *out);

/*
 * Call fn for every key whose value differs between old_obj and new_obj
 * (a list whose length changed is one change of the list).  Returns the
 * number of changes, or -1 if out of memory.
 */
int cq_cfg_diff(const cq_cfg_table_t *t, const void *old_obj,
	const void *new_obj, cq_cfg_change_fn *fn, void *ctx);

/*
 * After a reload: give every key that is not live its old value back in
 * new_obj, so that new_obj holds what a reload can apply (the old values of
 * restart-only keys, the new values of live ones).  The two structs swap
 * those fields, so both still own what they hold and are freed as usual.
 * A list that is live but changed length is taken whole from new_obj.
 */
void cq_cfg_keep_restart_keys(
	const cq_cfg_table_t *t, void *old_obj, void *new_obj);

/*
 * Call fn for every key of the table, depth first, in table order.  Paths
 * of list items use "[]": "listeners[].name".
 */
void cq_cfg_walk(const cq_cfg_table_t *t, cq_cfg_walk_fn *fn, void *ctx);

/*
 * Check the table itself (widths fit ranges, defaults parse and are in
 * range, names are unique, every key has a doc).  0, or -1 with *error_r
 * naming the bad row.  Run by the unit tests of every table.
 */
int cq_cfg_schema_check(const cq_cfg_table_t *t, char **error_r);

/*
 * Engine internals: the per-type code (config_types.c) as used by the
 * table walks (config_schema.c) and the YAML loader (config_yaml.c).
 */

/* Maximum length of a key path in messages; of one string list item. */
#define CQ_CFG_PATH_MAX 256
#define CQ_CFG_ITEM_MAX 4095

/* Field 'k' of the struct at 'obj'. */
#define CQ_CFG_FIELD(obj, k) ((void *)((char *)(obj) + (k)->offset))

/* Anything but CQ_CFG_MAP, CQ_CFG_LIST and CQ_CFG_STRLIST. */
bool cq_cfg_is_scalar(cq_cfg_type_t type);

/*
 * Parse the scalar 'text' (len bytes, NUL-terminated, may hold NULs) into
 * the field of scalar key 'k' in 'obj'.  'null' says the YAML scalar was a
 * plain null (~, null, nothing), which is "" for strings and an error for
 * the rest.  0, or -1 with *why_r a malloc'd message ("expected a size
 * like 1M, got \"big\"") and the field unchanged.
 */
int cq_cfg_parse_scalar(const cq_cfg_key_t *k, void *obj, const char *text,
	size_t len, bool null, char **why_r);

/* Append one item to the CQ_CFG_STRLIST field of 'k'; as above. */
int cq_cfg_strlist_add(const cq_cfg_key_t *k, void *obj, const char *text,
	size_t len, char **why_r);

/* Print the value of a scalar or CQ_CFG_STRLIST key as YAML text. */
void cq_cfg_print_value(const cq_cfg_key_t *k, const void *obj, FILE *out);

/* Release the value of a scalar or CQ_CFG_STRLIST key. */
void cq_cfg_free_value(const cq_cfg_key_t *k, void *obj);

/* "a size like 1M", "an integer from 0 to 64": for "expected ..." texts. */
void cq_cfg_describe(
	const cq_cfg_key_t *k, bool with_range, char *buf, size_t len);

/*
 * Is the row of a scalar or CQ_CFG_STRLIST key well formed (field width,
 * range, enum names)?  NULL, or a static text saying what is wrong.
 */
const char *cq_cfg_row_problem(const cq_cfg_key_t *k);

/* The key of t named by the len bytes at 'name', or NULL. */
const cq_cfg_key_t *cq_cfg_find_key(
	const cq_cfg_table_t *t, const char *name, size_t len);

/* The items of a CQ_CFG_LIST field: count, and item i. */
size_t *cq_cfg_list_count(const cq_cfg_key_t *k, void *obj);
void *cq_cfg_list_item(const cq_cfg_key_t *k, void *obj, size_t i);

/* Release a key's value of any type (maps and lists recursively). */
void cq_cfg_free_key(const cq_cfg_key_t *k, void *obj);

/* parent + "." + name into buf (just name when parent is ""). */
void cq_cfg_path_join(
	char *buf, size_t len, const char *parent, const char *name);

/*
 * Load the YAML document 'text' as the value of key 'k' of 'obj' (a list
 * default such as "[{name: tcp, ...}]", or a list set from the command
 * line), replacing what the field held.  'path' names it in messages.
 * 0, or -1 with *error_r set; 'obj' is then safe to free.
 */
int cq_cfg_load_value(const cq_cfg_key_t *k, void *obj, const char *path,
	const char *text, char **error_r);

/* Quote a scalar the user wrote, for messages: escaped and shortened. */
void cq_cfg_quote(const char *text, size_t len, char *buf, size_t size);

/* Print 's' as a YAML double-quoted scalar. */
void cq_cfg_print_quoted(const char *s, FILE *out);

/* *error_r = a malloc'd formatted string (NULL if out of memory);
 * returns -1. */
int cq_cfg_error(char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * The same as "FILE:LINE:COLUMN: PATH: message", leaving out the position
 * when file is NULL or pos.line is 0, and the path when it is "".
 */
int cq_cfg_error_at(char **error_r, const char *file, cq_cfg_pos_t pos,
	const char *path, const char *fmt, va_list ap)
	__attribute__((format(printf, 5, 0)));

#endif /* CQ_CORE_CONFIG_SCHEMA_H */
