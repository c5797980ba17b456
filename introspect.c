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

/* Returns a readable name for a builtin's JSON type. */
static const char *
builtin_name(json_t *entry)
{
	static const char *const names[][2] = {
		{ "string", "str" }, { "boolean", "bool" }, { "value", "any" },
	};
	const char *t = json_string_value(json_object_get(entry,
	    "json-type"));
	size_t i;

	if (t == NULL)
		return "?";
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(t, names[i][0]) == 0)
			return names[i][1];
	return t;	/* int, number and null read well as they are */
}

/* Returns {"enum": [values]} (new): "values", or names in "members". */
static json_t *
resolve_enum(struct schema *s, const char *name, json_t *e)
{
	json_t *v = json_object_get(e, "values"), *m, *out, *one;
	size_t i;

	out = json_array();
	if (json_is_array(v)) {
		json_array_foreach(v, i, one)
			if (qmp_json_is_string(one))
				json_array_append(out, one);
			else
				malformed(s, name, "an enum value is not a "
				    "string");
	} else {
		m = json_object_get(e, "members");
		json_array_foreach(m, i, one) {
			v = json_object_get(one, "name");
			if (qmp_json_is_string(v))
				json_array_append(out, v);
			else
				malformed(s, name, "an enum member has no "
				    "name");
		}
	}
	return json_pack("{s:o}", "enum", out);
}

static json_t *resolve(struct schema *, const char *name);

/* Returns the type named by e's member key, resolved (new). */
static json_t *
resolve_member_type(struct schema *s, json_t *e, const char *key)
{
	const char *k = json_string_value(json_object_get(e, key));

	return resolve(s, k != NULL ? k : "");
}

/* Returns {"alternate": [types]} (new). */
static json_t *
resolve_alternate(struct schema *s, json_t *e)
{
	json_t *out = json_array(), *one;
	size_t i;

	json_array_foreach(json_object_get(e, "members"), i, one)
		json_array_append_new(out, resolve_member_type(s, one,
		    "type"));
	return json_pack("{s:o}", "alternate", out);
}

/* Returns an object type with its members and variants (new). */
static json_t *
resolve_object(struct schema *s, const char *name, json_t *e)
{
	json_t *out = json_object(), *mem = json_array(), *one, *vars, *cases;
	json_t *mname;
	const char *c;
	size_t i;

	json_array_foreach(json_object_get(e, "members"), i, one) {
		mname = json_object_get(one, "name");
		if (!qmp_json_is_string(mname)) {
			malformed(s, name, "a member has no name");
			continue;
		}
		json_array_append_new(mem, json_pack("{s:O, s:o, s:b}",
		    "name", mname, "type", resolve_member_type(s, one, "type"),
		    "optional", json_object_get(one, "default") != NULL));
	}
	json_object_set_new(out, "members", mem);
	vars = json_object_get(e, "variants");
	if (json_array_size(vars) == 0)
		return out;
	cases = json_object();
	json_array_foreach(vars, i, one) {
		c = json_string_value(json_object_get(one, "case"));
		if (c == NULL)
			malformed(s, name, "a variant has no case");
		else
			json_object_set_new(cases, c,
			    resolve_member_type(s, one, "type"));
	}
	json_object_set_new(out, "variants", json_pack("{s:O, s:o}", "tag",
	    json_object_get(e, "tag"), "cases", cases));
	return out;
}

/* Returns 1 when name is being resolved: it contains itself. */
static int
on_stack(struct schema *s, const char *name)
{
	json_t *one;
	size_t i;

	json_array_foreach(s->stack, i, one)
		if (strcmp(json_string_value(one), name) == 0)
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
		return json_pack("{s:s}", "unknown", name);
	meta = json_string_value(json_object_get(e, "meta-type"));
	if (meta == NULL)
		meta = "";
	if (strcmp(meta, "builtin") == 0)
		return json_string(builtin_name(e));
	if (strcmp(meta, "enum") == 0)
		return resolve_enum(s, name, e);
	if (strcmp(meta, "array") != 0 && strcmp(meta, "alternate") != 0 &&
	    strcmp(meta, "object") != 0)
		return json_pack("{s:s}", "unknown", name);
	if (on_stack(s, name))
		return json_pack("{s:s, s:b}", "ref", name, "recursive", 1);
	if (cut_here(s, name) || (s->nodes % 4096 == 0 && s->deadline != 0 &&
	    qmp_now_ms() >= s->deadline))
		return json_pack("{s:s}", "ref", name);
	json_array_append_new(s->stack, json_string(name));
	if (strcmp(meta, "array") == 0)
		out = json_pack("{s:o}", "array", resolve_member_type(s, e,
		    "element-type"));
	else if (strcmp(meta, "alternate") == 0)
		out = resolve_alternate(s, e);
	else
		out = resolve_object(s, name, e);
	json_array_remove(s->stack, json_array_size(s->stack) - 1);
	json_object_set_new(s->done, name, json_true());
	return out;
}

static void print_type(json_t *t, int indent);

/* Prints the members (and variants) of a resolved object type. */
static void
print_members(json_t *obj, int indent)
{
	json_t *vars, *cases, *c, *one;
	const char *k;
	size_t i;

	json_array_foreach(json_object_get(obj, "members"), i, one) {
		printf("%*s%s: %s", indent, "",
		    json_string_value(json_object_get(one, "name")),
		    json_is_true(json_object_get(one, "optional")) ?
		    "optional " : "");
		print_type(json_object_get(one, "type"), indent);
	}
	vars = json_object_get(obj, "variants");
	cases = json_object_get(vars, "cases");
	json_object_foreach(cases, k, c) {
		printf("%*swhen %s is \"%s\":\n", indent, "",
		    json_string_value(json_object_get(vars, "tag")), k);
		print_members(c, indent + 2);
	}
}

/* Prints a resolved type: one line, or a line and indented members. */
static void
print_type(json_t *t, int indent)
{
	json_t *v;
	size_t i;

	if (json_is_string(t)) {
		printf("%s\n", json_string_value(t));
	} else if ((v = json_object_get(t, "enum")) != NULL) {
		fputs("enum (", stdout);
		for (i = 0; i < json_array_size(v); i++)
			printf("%s%s", i ? ", " : "",
			    json_string_value(json_array_get(v, i)));
		fputs(")\n", stdout);
	} else if ((v = json_object_get(t, "array")) != NULL) {
		fputs("array of ", stdout);
		print_type(v, indent);
	} else if ((v = json_object_get(t, "alternate")) != NULL) {
		fputs("one of:\n", stdout);
		for (i = 0; i < json_array_size(v); i++) {
			printf("%*s- ", indent + 2, "");
			print_type(json_array_get(v, i), indent + 4);
		}
	} else if ((v = json_object_get(t, "ref")) != NULL) {
		printf("%s (%s)\n", json_string_value(v),
		    json_is_true(json_object_get(t, "recursive")) ?
		    "recursive: it contains itself" : "as above");
	} else if ((v = json_object_get(t, "unknown")) != NULL) {
		printf("%s\n", json_string_value(v));
	} else if (json_array_size(json_object_get(t, "members")) == 0 &&
	    json_object_get(t, "variants") == NULL) {
		fputs("{}\n", stdout);
	} else {
		fputs("object\n", stdout);
		print_members(t, indent + 2);
	}
}

/* Prints the description as text (for --describe without --json). */
static void
print_description(json_t *out, const char *meta, const char *name)
{
	const char *what = strcmp(meta, "event") == 0 ? "data" : "arguments";
	json_t *tree = json_object_get(out, "arguments");

	printf("%s %s\n", meta, name);
	if (json_array_size(json_object_get(tree, "members")) == 0 &&
	    json_object_get(tree, "variants") == NULL)
		printf("%s: none\n", what);
	else {
		printf("%s:\n", what);
		print_members(tree, 2);
	}
	if (strcmp(meta, "command") == 0) {
		printf("returns: ");
		print_type(json_object_get(out, "returns"), 0);
		if (json_is_true(json_object_get(out, "allow-oob")))
			printf("allowed out-of-band\n");
	}
}

/* Resolves entry e (a command or event called name) into *out (new). */
static json_t *
resolve_entry(struct schema *s, json_t *e, const char *meta,
    const char *name)
{
	json_t *out = json_pack("{s:s, s:s}", "name", name, "meta-type", meta);
	json_t *oob = json_object_get(e, "allow-oob");

	json_object_set_new(out, "arguments", resolve_member_type(s, e,
	    "arg-type"));
	if (strcmp(meta, "command") == 0) {
		json_object_set_new(out, "returns", resolve_member_type(s, e,
		    "ret-type"));
		json_object_set(out, "allow-oob", oob ? oob : json_false());
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
	s.byname = must(json_object());
	s.stack = must(json_array());
	s.done = must(json_object());
	s.deadline = r->deadline;
	json_array_foreach(list, i, e)
		if ((k = json_string_value(json_object_get(e, "name"))) != NULL)
			json_object_set(s.byname, k, e);
	s.budget = NODES_PER_ENTRY * (json_array_size(list) + 16);
	e = json_object_get(s.byname, name);
	meta = json_string_value(json_object_get(e, "meta-type"));
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
		if (print_json(r->o, out) < 0)
			rc = stdout_failed(r, errno);
	} else if (out != NULL) {
		print_description(out, meta, name);
		if (fflush(stdout) != 0 || ferror(stdout))
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
	names = must(calloc(json_array_size(list) + 1, sizeof(*names)));
	json_array_foreach(list, i, e) {
		if (qga && json_is_false(json_object_get(e, "enabled")))
			continue;
		if (qmp_json_is_string(json_object_get(e, "name")))
			names[n++] = json_string_value(json_object_get(e,
			    "name"));
	}
	qsort(names, n, sizeof(*names), cmp_names);
	for (i = 0; i < n; i++)
		if (printf("%s\n", names[i]) < 0)
			break;
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = stdout_failed(r, errno);
	free(names);
	json_decref(reply);
	return rc;
}
