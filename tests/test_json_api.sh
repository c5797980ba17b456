#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/test_json_api.sh -- scripts/check-json-api.sh, which make check runs
# first: no product file but qmp_json.c calls jansson's functions that do
# not know kept numbers.  Run from the project root:
#     bash tests/test_json_api.sh [testName...]

. tests/lib.sh

# The product sources: what the Makefile builds qmpctl from.
product_files() {
  make -s -f - print-srcs <<'MK'
include Makefile
print-srcs:
	@echo $(SRCS) $(HDRS)
MK
}

test_tree_is_clean() {
  local files
  files=$(product_files) || fail "cannot list the product files"
  assertContains "the product files include qmp_core.c" " $files " " qmp_core.c "
  # shellcheck disable=SC2086
  sh scripts/check-json-api.sh $files >"$T/out" 2>"$T/err"
  assertEquals "the tree passes; $(cat "$T/out" "$T/err")" 0 $?
}

test_each_forbidden_call_fails() {
  local f rc
  for f in json_string_value json_integer_value json_real_value \
      json_number_value json_equal json_dumps json_dumpf; do
    printf '/* x */\nstatic int g(json_t *v)\n{\n\treturn %s (v) != 0;\n}\n' \
      "$f" >"$T/bad.c"
    sh scripts/check-json-api.sh qmp_addr.c "$T/bad.c" >"$T/out" 2>"$T/err"
    rc=$?
    assertEquals "$f: exit status" 1 "$rc"
    assertEquals "$f: the line named" "$T/bad.c:4:	return $f (v) != 0;" \
      "$(cat "$T/out")"
  done
}

test_lookalikes_and_qmp_json_c_pass() {
  printf 'x = qmp_json_string(v); y = my_json_equal(a, b);\n' >"$T/ok.c"
  printf 'x = json_dumps(v, 0);\n' >"$T/qmp_json.c"
  sh scripts/check-json-api.sh "$T/ok.c" "$T/qmp_json.c" >"$T/out" 2>&1
  assertEquals "accessors, lookalikes and qmp_json.c itself pass; $(cat "$T/out")" 0 $?
}

. shunit2
