/* SPDX-License-Identifier: MIT */
/*
 * keys.c: --keys and --type, the keyboard of a CI job that drives an
 * installer or a firmware menu.  Both become send-key commands: --keys
 * one per combo of QEMU key names (QKeyCode), --type one per character
 * as a US keyboard types it.  Everything is checked before connecting,
 * so that a bad name or character sends nothing at all.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "qmp_json.h"
#include "qmpctl.h"

#define MAX_COMBO	16	/* keys pressed together, at most */

/*
 * QAPI's QKeyCode (qapi/ui.json), in its order: the names send-key takes.
 * The last twelve came with QEMU 8.0.
 */
static const char *const qkeycodes[] = {
	"unmapped", "shift", "shift_r", "alt", "alt_r", "ctrl", "ctrl_r",
	"menu", "esc", "1", "2", "3", "4", "5", "6", "7", "8", "9", "0",
	"minus", "equal", "backspace", "tab", "q", "w", "e", "r", "t", "y",
	"u", "i", "o", "p", "bracket_left", "bracket_right", "ret", "a", "s",
	"d", "f", "g", "h", "j", "k", "l", "semicolon", "apostrophe",
	"grave_accent", "backslash", "z", "x", "c", "v", "b", "n", "m",
	"comma", "dot", "slash", "asterisk", "spc", "caps_lock", "f1", "f2",
	"f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "num_lock",
	"scroll_lock", "kp_divide", "kp_multiply", "kp_subtract", "kp_add",
	"kp_enter", "kp_decimal", "sysrq", "kp_0", "kp_1", "kp_2", "kp_3",
	"kp_4", "kp_5", "kp_6", "kp_7", "kp_8", "kp_9", "less", "f11", "f12",
	"print", "home", "pgup", "pgdn", "end", "left", "up", "down", "right",
	"insert", "delete", "stop", "again", "props", "undo", "front", "copy",
	"open", "paste", "find", "cut", "lf", "help", "meta_l", "meta_r",
	"compose", "pause", "ro", "hiragana", "henkan", "yen", "muhenkan",
	"katakanahiragana", "kp_comma", "kp_equals", "power", "sleep", "wake",
	"audionext", "audioprev", "audiostop", "audioplay", "audiomute",
	"volumeup", "volumedown", "mediaselect", "mail", "calculator",
	"computer", "ac_home", "ac_back", "ac_forward", "ac_refresh",
	"ac_bookmarks", "lang1", "lang2",
	/* QEMU 8.0 */
	"f13", "f14", "f15", "f16", "f17", "f18", "f19", "f20", "f21", "f22",
	"f23", "f24",
};

#define NQKEYCODES	(sizeof(qkeycodes) / sizeof(qkeycodes[0]))
#define FIRST_QEMU8	(NQKEYCODES - 12)

/*
 * The printable ASCII characters of a US keyboard, from ' ' (0x20) to
 * '~' (0x7e): the key, and whether shift is held for it.  Letters are
 * handled apart.
 */
static const struct { const char *key; int shift; } us_keys[95] = {
	{ "spc", 0 }, { "1", 1 }, { "apostrophe", 1 }, { "3", 1 },
	{ "4", 1 }, { "5", 1 }, { "7", 1 }, { "apostrophe", 0 },
	{ "9", 1 }, { "0", 1 }, { "8", 1 }, { "equal", 1 },
	{ "comma", 0 }, { "minus", 0 }, { "dot", 0 }, { "slash", 0 },
	{ "0", 0 }, { "1", 0 }, { "2", 0 }, { "3", 0 }, { "4", 0 },
	{ "5", 0 }, { "6", 0 }, { "7", 0 }, { "8", 0 }, { "9", 0 },
	{ "semicolon", 1 }, { "semicolon", 0 }, { "comma", 1 },
	{ "equal", 0 }, { "dot", 1 }, { "slash", 1 }, { "2", 1 },
	/* 'A' to 'Z': shift and the letter */
	[59] = { "bracket_left", 0 }, { "backslash", 0 },
	{ "bracket_right", 0 }, { "6", 1 }, { "minus", 1 },
	{ "grave_accent", 0 },
	/* 'a' to 'z': the letter */
	[91] = { "bracket_left", 1 }, { "backslash", 1 },
	{ "bracket_right", 1 }, { "grave_accent", 1 },
};

/* Returns 1 when name is a key name of the table, with *qemu8 set. */
static int
known_key(const char *name, size_t len, int *qemu8)
{
	size_t i;

	for (i = 0; i < NQKEYCODES; i++)
		if (strlen(qkeycodes[i]) == len &&
		    memcmp(qkeycodes[i], name, len) == 0) {
			*qemu8 = i >= FIRST_QEMU8;
			return 1;
		}
	return 0;
}

/* Appends {"type":"qcode","data":name} to keys (an array). */
static void
add_key(json_t *keys, const char *name, size_t len)
{
	if (json_array_append_new(keys, must(json_pack("{s:s, s:s%}", "type",
	    "qcode", "data", name, len))) < 0)
		must(NULL);
}

/*
 * Parses one combo, key names joined by '-', into *keys (new).  Returns
 * 0, or -1 with a message in err.  *qemu8 is set when a name needs QEMU
 * 8.0.
 */
static int
parse_combo(const char *s, size_t len, json_t **keys, int *qemu8,
    char *err, size_t errlen)
{
	const char *p = s, *end = s + len, *dash;
	size_t n;
	int new8;

	*keys = must(json_array());
	while (p <= end) {
		dash = memchr(p, '-', (size_t)(end - p));
		n = dash ? (size_t)(dash - p) : (size_t)(end - p);
		if (n == 0)
			snprintf(err, errlen, "--keys: empty key name in "
			    "'%.*s'", (int)len, s);
		else if (!known_key(p, n, &new8))
			snprintf(err, errlen, "--keys: unknown key '%.*s' (the "
			    "names are QEMU's QKeyCode: see qmpctl(1))",
			    (int)n, p);
		else if (json_array_size(*keys) == MAX_COMBO)
			snprintf(err, errlen, "--keys: more than %d keys in "
			    "'%.*s'", MAX_COMBO, (int)len, s);
		else {
			*qemu8 |= new8;
			add_key(*keys, p, n);
			p += n + 1;
			continue;
		}
		json_decref(*keys);
		*keys = NULL;
		return -1;
	}
	return 0;
}

/*
 * Parses COMBO[,COMBO...] into *combos (new): an array holding one array
 * of keys per combo.  Returns 0, or -1 with a message in err.
 */
static int
parse_keys(const char *arg, json_t **combos, int *qemu8, char *err,
    size_t errlen)
{
	const char *p = arg, *comma;
	size_t n;
	json_t *keys;

	*combos = must(json_array());
	do {
		comma = strchr(p, ',');
		n = comma ? (size_t)(comma - p) : strlen(p);
		if (parse_combo(p, n, &keys, qemu8, err, errlen) < 0) {
			json_decref(*combos);
			*combos = NULL;
			return -1;
		}
		if (json_array_append_new(*combos, keys) < 0)
			must(NULL);
		p += n + 1;
	} while (comma != NULL);
	return 0;
}

/*
 * Says, in buf, which character c (a code point) is, for a message:
 * 'x' for a printable one, U+XXXX otherwise.
 */
static void
name_char(unsigned long c, const char *s, size_t n, char *buf, size_t len)
{
	if (c >= 0x20 && c != 0x7f && !(c >= 0x80 && c < 0xa0))
		snprintf(buf, len, "'%.*s' (U+%04lX)", (int)n, s, c);
	else
		snprintf(buf, len, "U+%04lX", c);
}

/* Returns the code point at s (valid UTF-8) and sets *n to its bytes. */
static unsigned long
code_point(const unsigned char *s, size_t *n)
{
	unsigned long c = *s;
	size_t i;

	*n = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (*n > 1)
		c &= 0x3f >> (*n - 1);
	for (i = 1; i < *n; i++)
		c = c << 6 | (s[i] & 0x3f);
	return c;
}

/*
 * Appends the combo that types the character c (ASCII) to combos.
 * Returns 0, or -1 when a US keyboard has no key for it.
 */
static int
type_char(json_t *combos, unsigned char c)
{
	json_t *keys = must(json_array());
	const char *key = NULL;
	char letter[2] = { 0, 0 };
	int shift = 0;

	if (c == '\n' || c == '\t')
		key = c == '\n' ? "ret" : "tab";
	else if (c >= 'A' && c <= 'Z') {
		letter[0] = (char)(c - 'A' + 'a');
		key = letter;
		shift = 1;
	} else if (c >= 'a' && c <= 'z') {
		letter[0] = (char)c;
		key = letter;
	} else if (c >= 0x20 && c < 0x7f) {
		key = us_keys[c - 0x20].key;
		shift = us_keys[c - 0x20].shift;
	}
	if (key == NULL) {
		json_decref(keys);
		return -1;
	}
	if (shift)
		add_key(keys, "shift", 5);
	add_key(keys, key, strlen(key));
	if (json_array_append_new(combos, keys) < 0)
		must(NULL);
	return 0;
}

/*
 * Reads the escape at s[0] == '\\' of --type's text: \n, \t or \\.
 * Returns the character, or 0 for any other.
 */
static unsigned char
escape(const char *s)
{
	switch (s[1]) {
	case 'n': return '\n';
	case 't': return '\t';
	case '\\': return '\\';
	default: return 0;
	}
}

/*
 * Parses --type's text into *combos (new), one combo per character.
 * Returns 0, or -1 with a message in err.
 */
static int
parse_text(const char *text, json_t **combos, char *err, size_t errlen)
{
	const char *s = text;
	unsigned long cp;
	unsigned char c;
	char what[64];
	size_t n;

	*combos = NULL;
	if (!valid_utf8(text, strlen(text))) {
		snprintf(err, errlen, "--type: the text is not valid UTF-8");
		return -1;
	}
	*combos = must(json_array());
	for (; *s != '\0'; s += n) {
		n = 1;
		c = (unsigned char)*s;
		if (c == '\\' && (c = escape(s)) == 0) {
			snprintf(err, errlen, "--type: unknown escape '\\%c' "
			    "(\\n, \\t and \\\\ are known)", s[1] ? s[1] : ' ');
			break;
		} else if (*s == '\\')
			n = 2;
		if (c < 0x80 && type_char(*combos, c) == 0)
			continue;
		cp = code_point((const unsigned char *)s, &n);
		name_char(cp, s, n, what, sizeof(what));
		snprintf(err, errlen, "--type: %s has no key on a US keyboard",
		    what);
		break;
	}
	if (*s == '\0')
		return 0;
	json_decref(*combos);
	*combos = NULL;
	return -1;
}

/*
 * Parses the argument of a --keys (type 0) or --type (type 1) step into
 * *combos (new), or only checks it when combos is NULL.  Returns 0, or
 * -1 with a message in err.  *qemu8 (may be NULL) is set when a key
 * needs QEMU 8.0.
 */
int
parse_key_step(int type, const char *arg, json_t **combos, int *qemu8,
    char *err, size_t errlen)
{
	json_t *c;
	int q8 = 0, rc;

	rc = type ? parse_text(arg, &c, err, errlen) :
	    parse_keys(arg, &c, &q8, err, errlen);
	if (qemu8 != NULL)
		*qemu8 |= q8;
	if (combos != NULL)
		*combos = c;
	else
		json_decref(c);
	return rc;
}

/*
 * Presses one combo, keys (borrowed), with send-key.  Returns QX_OK, or
 * after a message the failure's status.
 */
static int
press(struct run *r, json_t *keys)
{
	const struct options *o = r->o;
	json_t *args, *ret = NULL;
	enum qmp_status st;

	args = must(json_pack("{s:O}", "keys", keys));
	if (o->hold_ms >= 0 && json_object_set_new(args, "hold-time",
	    must(json_integer(o->hold_ms))) < 0)
		must(NULL);
	st = qmp_call(r->q, "send-key", args, &ret);
	json_decref(args);
	json_decref(ret);
	if (st == QMP_OK)
		return QX_OK;
	say_failure(r);
	return exit_status(st);
}

/*
 * Returns 1 when the server's greeting says QEMU 8.0 or later (or says
 * no version at all).
 */
static int
server_has_qemu8_keys(struct run *r)
{
	json_t *v = json_object_get(json_object_get(json_object_get(
	    qmp_greeting(r->q), "QMP"), "version"), "qemu");
	long long major;

	if (qmp_json_int(json_object_get(v, "major"), &major) != 0)
		return 1;
	return major >= 8;
}

/*
 * Checks, before any step runs, that the server knows every key name
 * the steps use.  Returns QX_OK, or after a message QX_COMMAND.
 */
int
check_server_keys(struct run *r)
{
	const struct options *o = r->o;
	char err[256];
	size_t i;
	int qemu8 = 0;

	for (i = 0; i < o->nsteps; i++)
		if (o->steps[i].kind == STEP_KEYS)
			parse_key_step(0, o->steps[i].arg, NULL, &qemu8, err,
			    sizeof(err));
	if (!qemu8 || server_has_qemu8_keys(r))
		return QX_OK;
	say("--keys: f13 to f24 need QEMU 8.0 or later: nothing was sent");
	return QX_COMMAND;
}

/*
 * Runs a --keys (type 0) or --type (type 1) step: one send-key per
 * combo, --key-delay apart.  *first says no key went out yet in this
 * run (the delay goes between steps too).  Returns QX_OK, or after a
 * message the failure's status.
 */
int
run_key_step(struct run *r, int type, const char *arg, int *first)
{
	char err[256];
	json_t *combos, *keys;
	size_t i;
	int rc = QX_OK;

	if (parse_key_step(type, arg, &combos, NULL, err, sizeof(err)) < 0)
		return usage_failure("%s", err);
	json_array_foreach(combos, i, keys) {
		if (!*first &&
		    (rc = io_pause(r, r->o->key_delay_ms)) != QX_OK) {
			say("%s while typing: %zu of %zu %s sent",
			    rc == QX_TIMEOUT ? "timed out" : "interrupted", i,
			    json_array_size(combos), type ? "characters" :
			    "combos");
			break;
		}
		*first = 0;
		if ((rc = press(r, keys)) != QX_OK)
			break;
	}
	json_decref(combos);
	return rc;
}
