/* SPDX-License-Identifier: MIT */
/*
 * introspect.c: --list-commands and --describe, from what the server
 * says of itself (query-commands, guest-info, query-qmp-schema).
 *
 * The schema comes from the server and is not trusted: a type may
 * contain itself through arrays and alternates, and a small schema can
 * describe an exponential tree.  resolve() therefore cuts every cycle,
 * bounds its depth, and past a budget of nodes proportional to the
 * schema's size shows a type it has expanded once as a reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

#define RESOLVE_DEPTH	64	/* named types open at once, at most */
#define NODES_PER_ENTRY	64	/* the budget: nodes per schema entry */

struct schema {
	json_t *byname;		/* name -> schema entry (borrowed refs) */
	json_t *stack;		/* the names being resolved */
	json_t *done;		/* name -> true once expanded */
	size_t nodes, budget;
	int64_t deadline;
	const char *bad;	/* what is malformed, or NULL */
	char badname[128];
};

/* Notes that the schema entry name is malformed (the first time). */
static json_t *
malformed(struct schema *s, const char *name, const char *why)
{
	if (s->bad == NULL) {
		s->bad = why;
		snprintf(s->badname, sizeof(s->badname), "%s", name);
	}
	return json_null();
}

/* Appends v (stolen) to the array arr, or exits when memory ran out. */
static void
append_new(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, must(v)) < 0)
		must(NULL);
}

/* Sets obj's key to v (stolen), or exits when memory ran out. */
static void
set_new(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, must(v)) < 0)
		must(NULL);
}

/*
 * Returns a readable name for the builtin type entry name's JSON type
 * (new), or a null after noting a "json-type" that is not a string.
 */
static json_t *
builtin_name(struct schema *s, const char *name, json_t *entry)
{
	static const char *const names[][2] = {
		{ "string", "str" }, { "boolean", "bool" }, { "value", "any" },
	};
	const char *t = qmp_json_string(json_object_get(entry, "json-type"));
	size_t i;

	if (t == NULL)
		return malformed(s, name, "its \"json-type\" is not a string");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(t, names[i][0]) == 0)
			return must(json_string(names[i][1]));
	/* int, number and null read well as they are */
	return must(json_stringn(t, json_string_length(json_object_get(entry,
	    "json-type"))));
}

/* Returns {"enum": [values]} (new): "values", or names in "members". */
static json_t *
resolve_enum(struct schema *s, const char *name, json_t *e)
{
	json_t *v = json_object_get(e, "values"), *m, *out, *one;
	size_t i;

	out = must(json_array());
	if (json_is_array(v)) {
		json_array_foreach(v, i, one)
			if (qmp_json_is_string(one))
				append_new(out, json_incref(one));
			else
				malformed(s, name, "an enum value is not a "
				    "string");
	} else {
		m = json_object_get(e, "members");
		json_array_foreach(m, i, one) {
			v = json_object_get(one, "name");
			if (qmp_json_is_string(v))
				append_new(out, json_incref(v));
			else
				malformed(s, name, "an enum member has no "
				    "name");
		}
	}
	return must(json_pack("{s:o}", "enum", out));
}

static json_t *resolve(struct schema *, const char *name);

/*
 * Returns the type named by the member key of e (part of the entry
 * name), resolved (new); a null after noting a name that is not a string.
 */
static json_t *
resolve_member_type(struct schema *s, const char *name, json_t *e,
    const char *key)
{
	const char *k = qmp_json_string(json_object_get(e, key));

	if (k == NULL)
		return malformed(s, name, "a type name is not a string");
	return resolve(s, k);
}

/* Returns {"alternate": [types]} (new). */
static json_t *
resolve_alternate(struct schema *s, const char *name, json_t *e)
{
	json_t *out = must(json_array()), *one;
	size_t i;

	json_array_foreach(json_object_get(e, "members"), i, one)
		append_new(out, resolve_member_type(s, name, one, "type"));
	return must(json_pack("{s:o}", "alternate", out));
}

/* Returns the variants of the object type e, called name (new). */
static json_t *
resolve_variants(struct schema *s, const char *name, json_t *e)
{
	json_t *cases = must(json_object()), *one, *tag;
	const char *c;
	size_t i;

	json_array_foreach(json_object_get(e, "variants"), i, one) {
		c = qmp_json_string(json_object_get(one, "case"));
		if (c == NULL)
			malformed(s, name, "a variant has no case");
		else
			set_new(cases, c, resolve_member_type(s, name, one,
			    "type"));
	}
	tag = json_object_get(e, "tag");
	if (!qmp_json_is_string(tag)) {
		malformed(s, name, "its variants' \"tag\" is not a string");
		tag = json_null();
	}
	return must(json_pack("{s:O, s:o}", "tag", tag, "cases", cases));
}

/* Returns an object type with its members and variants (new). */
static json_t *
resolve_object(struct schema *s, const char *name, json_t *e)
{
	json_t *out = must(json_object()), *mem = must(json_array()), *one;
	json_t *mname;
	size_t i;

	json_array_foreach(json_object_get(e, "members"), i, one) {
		mname = json_object_get(one, "name");
		if (!qmp_json_is_string(mname)) {
			malformed(s, name, "a member has no name");
			continue;
		}
		append_new(mem, json_pack("{s:O, s:o, s:b}", "name", mname,
		    "type", resolve_member_type(s, name, one, "type"),
		    "optional", json_object_get(one, "default") != NULL));
	}
	set_new(out, "members", mem);
	if (json_array_size(json_object_get(e, "variants")) > 0)
		set_new(out, "variants", resolve_variants(s, name, e));
	return out;
}

/* Returns 1 when name is being resolved: it contains itself. */
static int
on_stack(struct schema *s, const char *name)
{
	json_t *one;
	size_t i;

	json_array_foreach(s->stack, i, one)
		if (strcmp(qmp_json_string(one), name) == 0)
			return 1;
	return 0;
}

/* Returns 1 when the walk must not expand name again here. */
static int
cut_here(struct schema *s, const char *name)
{
	if (json_array_size(s->stack) >= RESOLVE_DEPTH)
		return 1;
	/* Past the budget, a type shown once is shown by name after. */
	return s->nodes > s->budget && json_object_get(s->done, name) != NULL;
}

/*
 * Returns the type called name resolved into a JSON tree (new): a
 * builtin's name, {"enum"}, {"array"}, {"alternate"}, an object with
 * "members" (and "variants"), {"ref": name} where the walk was cut, or
 * {"unknown": name}.
 */
static json_t *
resolve(struct schema *s, const char *name)
{
	json_t *e = json_object_get(s->byname, name), *out;
	const char *meta;

	s->nodes++;
	if (e == NULL)
		return must(json_pack("{s:s}", "unknown", name));
	if ((meta = qmp_json_string(json_object_get(e, "meta-type"))) == NULL)
		return malformed(s, name, "its \"meta-type\" is not a string");
	if (strcmp(meta, "builtin") == 0)
		return builtin_name(s, name, e);
	if (strcmp(meta, "enum") == 0)
		return resolve_enum(s, name, e);
	if (strcmp(meta, "array") != 0 && strcmp(meta, "alternate") != 0 &&
	    strcmp(meta, "object") != 0)
		return must(json_pack("{s:s}", "unknown", name));
	if (on_stack(s, name))
		return must(json_pack("{s:s, s:b}", "ref", name, "recursive",
		    1));
	if (cut_here(s, name) || (s->nodes % 4096 == 0 && s->deadline != 0 &&
	    qmp_now_ms() >= s->deadline))
		return must(json_pack("{s:s}", "ref", name));
	append_new(s->stack, json_string(name));
	if (strcmp(meta, "array") == 0)
		out = must(json_pack("{s:o}", "array", resolve_member_type(s,
		    name, e, "element-type")));
	else if (strcmp(meta, "alternate") == 0)
		out = resolve_alternate(s, name, e);
	else
		out = resolve_object(s, name, e);
	json_array_remove(s->stack, json_array_size(s->stack) - 1);
	set_new(s->done, name, json_true());
	return out;
}

static void print_type(FILE *out, json_t *t, int indent);

/* Prints the members (and variants) of a resolved object type. */
static void
print_members(FILE *out, json_t *obj, int indent)
{
	json_t *vars, *cases, *c, *one;
	const char *k;
	size_t i;

	json_array_foreach(json_object_get(obj, "members"), i, one) {
		fprintf(out, "%*s%s: %s", indent, "",
		    qmp_json_string(json_object_get(one, "name")),
		    json_is_true(json_object_get(one, "optional")) ?
		    "optional " : "");
		print_type(out, json_object_get(one, "type"), indent);
	}
	vars = json_object_get(obj, "variants");
	cases = json_object_get(vars, "cases");
	json_object_foreach(cases, k, c) {
		fprintf(out, "%*swhen %s is \"%s\":\n", indent, "",
		    qmp_json_string(json_object_get(vars, "tag")), k);
		print_members(out, c, indent + 2);
	}
}

/* Prints a resolved type: one line, or a line and indented members. */
static void
print_type(FILE *out, json_t *t, int indent)
{
	json_t *v;
	size_t i;

	if (qmp_json_is_string(t)) {
		fprintf(out, "%s\n", qmp_json_string(t));
	} else if ((v = json_object_get(t, "enum")) != NULL) {
		fputs("enum (", out);
		for (i = 0; i < json_array_size(v); i++)
			fprintf(out, "%s%s", i ? ", " : "",
			    qmp_json_string(json_array_get(v, i)));
		fputs(")\n", out);
	} else if ((v = json_object_get(t, "array")) != NULL) {
		fputs("array of ", out);
		print_type(out, v, indent);
	} else if ((v = json_object_get(t, "alternate")) != NULL) {
		fputs("one of:\n", out);
		for (i = 0; i < json_array_size(v); i++) {
			fprintf(out, "%*s- ", indent + 2, "");
			print_type(out, json_array_get(v, i), indent + 4);
		}
	} else if ((v = json_object_get(t, "ref")) != NULL) {
		fprintf(out, "%s (%s)\n", qmp_json_string(v),
		    json_is_true(json_object_get(t, "recursive")) ?
		    "recursive: it contains itself" : "as above");
	} else if ((v = json_object_get(t, "unknown")) != NULL) {
		fprintf(out, "%s\n", qmp_json_string(v));
	} else if (json_array_size(json_object_get(t, "members")) == 0 &&
	    json_object_get(t, "variants") == NULL) {
		fputs("{}\n", out);
	} else {
		fputs("object\n", out);
		print_members(out, t, indent + 2);
	}
}

/* Prints the description as text (for --describe without --json). */
static void
print_description(FILE *out, json_t *desc, const char *meta,
    const char *name)
{
	const char *what = strcmp(meta, "event") == 0 ? "data" : "arguments";
	json_t *tree = json_object_get(desc, "arguments");

	fprintf(out, "%s %s\n", meta, name);
	if (json_array_size(json_object_get(tree, "members")) == 0 &&
	    json_object_get(tree, "variants") == NULL)
		fprintf(out, "%s: none\n", what);
	else {
		fprintf(out, "%s:\n", what);
		print_members(out, tree, 2);
	}
	if (strcmp(meta, "command") == 0) {
		fprintf(out, "returns: ");
		print_type(out, json_object_get(desc, "returns"), 0);
		if (json_is_true(json_object_get(desc, "allow-oob")))
			fprintf(out, "allowed out-of-band\n");
	}
}

/* Resolves entry e (a command or event called name) into *out (new). */
static json_t *
resolve_entry(struct schema *s, json_t *e, const char *meta,
    const char *name)
{
	json_t *out = must(json_pack("{s:s, s:s}", "name", name, "meta-type",
	    meta));
	json_t *oob = json_object_get(e, "allow-oob");

	set_new(out, "arguments", resolve_member_type(s, name, e, "arg-type"));
	if (strcmp(meta, "command") == 0) {
		set_new(out, "returns", resolve_member_type(s, name, e,
		    "ret-type"));
		if (oob != NULL && !json_is_boolean(oob))
			malformed(s, name, "its \"allow-oob\" is not a "
			    "boolean");
		set_new(out, "allow-oob", json_is_true(oob) ? json_true() :
		    json_false());
	}
	return out;
}

/*
 * Describes command or event name from the server's schema.  Returns the
 * exit status.
 */
int
describe(struct run *r, const char *name)
{
	struct schema s = { 0 };
	json_t *reply = NULL, *list, *e, *out;
	const char *meta, *k;
	size_t i;
	int rc;

	if ((rc = call_or_report(r, "query-qmp-schema", &reply)) != QX_OK)
		return rc;
	list = reply;
	if (!json_is_array(list)) {
		say("query-qmp-schema: the reply is not an array");
		json_decref(reply);
		return QX_PROTO;
	}
	s.byname = must(json_object());
	s.stack = must(json_array());
	s.done = must(json_object());
	s.deadline = r->deadline;
	json_array_foreach(list, i, e)
		if ((k = qmp_json_string(json_object_get(e, "name"))) != NULL &&
		    json_object_set(s.byname, k, e) < 0)
			must(NULL);
	s.budget = NODES_PER_ENTRY * (json_array_size(list) + 16);
	e = json_object_get(s.byname, name);
	meta = qmp_json_string(json_object_get(e, "meta-type"));
	if (meta == NULL || (strcmp(meta, "command") != 0 &&
	    strcmp(meta, "event") != 0)) {
		say("%s: no such command or event in the server's schema",
		    name);
		rc = QX_COMMAND;
		out = NULL;
	} else
		out = must(resolve_entry(&s, e, meta, name));
	if (out != NULL && s.deadline != 0 && qmp_now_ms() >= s.deadline) {
		say("timed out describing %s", name);
		rc = QX_TIMEOUT;
	} else if (out != NULL && s.bad != NULL) {
		say("query-qmp-schema: malformed type %s: %s", s.badname, s.bad);
		rc = QX_PROTO;
	} else if (out != NULL && r->o->json) {
		if (print_json(r, out) < 0)
			rc = stdout_failed(r, errno);
	} else if (out != NULL) {
		print_description(r->out, out, meta, name);
		if (fflush(r->out) != 0 || ferror(r->out))
			rc = stdout_failed(r, errno);
	}
	json_decref(out);
	json_decref(s.stack);
	json_decref(s.done);
	json_decref(s.byname);
	json_decref(reply);
	return rc;
}

/* Compares two C strings for qsort. */
static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Prints the names of the commands the server accepts, one a line, from
 * query-commands (guest-info's supported_commands for the agent).
 * Returns the exit status.
 */
int
list_commands(struct run *r)
{
	json_t *reply = NULL, *list, *e;
	const char **names;
	size_t i, n = 0;
	int rc, qga = r->o->qga;

	if ((rc = call_or_report(r, qga ? "guest-info" : "query-commands",
	    &reply)) != QX_OK)
		return rc;
	list = reply;
	if (qga)
		list = json_object_get(list, "supported_commands");
	if (!json_is_array(list)) {
		say("%s: the reply holds no array of commands",
		    qga ? "guest-info" : "query-commands");
		json_decref(reply);
		return QX_PROTO;
	}
	names = must(calloc(json_array_size(list) + 1, sizeof(*names)));
	json_array_foreach(list, i, e) {
		if (qga && json_is_false(json_object_get(e, "enabled")))
			continue;
		if (qmp_json_is_string(json_object_get(e, "name")))
			names[n++] = qmp_json_string(json_object_get(e,
			    "name"));
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++)
		if (fprintf(r->out, "%s\n", names[i]) < 0)
			break;
	if (fflush(r->out) != 0 || ferror(r->out))
		rc = stdout_failed(r, errno);
	free(names);
	json_decref(reply);
	return rc;
}
