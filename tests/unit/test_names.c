/* Unit tests of tensor/group path and attribute name validation
 * (format-spec/FORMAT.md, section "Names").  No MPI. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "format/format.h"

static void path_ok(const char *path, int allow_root)
{
    char msg[H5CKPT_MSG_MAX] = "";
    int rc = h5ckpt__check_path(path, allow_root, msg);

    ck_assert_msg(rc == 0, "\"%s\" (allow_root=%d) rejected with %d: %s", path, allow_root, rc,
                  msg);
}

static void path_bad(const char *path, int allow_root)
{
    char msg[H5CKPT_MSG_MAX] = "";
    int rc = h5ckpt__check_path(path, allow_root, msg);

    ck_assert_msg(rc == H5CKPT_ENAME, "path of %zu bytes (allow_root=%d): got %d, want %d",
                  strlen(path), allow_root, rc, H5CKPT_ENAME);
    ck_assert_msg(msg[0] != '\0', "rejected without a message");
    ck_assert_msg(strchr(msg, '\n') == NULL, "message is more than one line: %s", msg);
}

static void attr_ok(const char *name, int reserved_ok)
{
    char msg[H5CKPT_MSG_MAX] = "";
    int rc = h5ckpt__check_attr_name(name, reserved_ok, msg);

    ck_assert_msg(rc == 0, "attribute \"%s\" (reserved_ok=%d) rejected with %d: %s", name,
                  reserved_ok, rc, msg);
}

static void attr_bad(const char *name, int reserved_ok)
{
    char msg[H5CKPT_MSG_MAX] = "";
    int rc = h5ckpt__check_attr_name(name, reserved_ok, msg);

    ck_assert_msg(rc == H5CKPT_ENAME, "attribute of %zu bytes (reserved_ok=%d): got %d, want %d",
                  strlen(name), reserved_ok, rc, H5CKPT_ENAME);
    ck_assert_msg(msg[0] != '\0', "rejected without a message");
}

/* A path of `n` bytes: "aaa...". */
static char *long_name(size_t n)
{
    char *s = malloc(n + 1);

    ck_assert_ptr_nonnull(s);
    memset(s, 'a', n);
    s[n] = '\0';
    return s;
}

/* ---- valid paths -------------------------------------------------------- */

START_TEST(dotted_tensor_path_in_a_group_is_valid)
{
    path_ok("model/encoder.layer.0.weight", 0);
}
END_TEST

START_TEST(single_character_path_is_valid)
{
    path_ok("a", 0);
}
END_TEST

START_TEST(dots_inside_a_component_are_ordinary_characters)
{
    path_ok("a.b/c..d", 0);
    path_ok("...", 0);
    path_ok(".a/b.", 0);
    path_ok("..a/a..", 0);
}
END_TEST

START_TEST(utf8_path_is_valid)
{
    /* 权 is E6 9D 83: bytes 0x80..0x9F are not control characters in UTF-8 */
    path_ok("模型/权重", 0);
    path_ok("caf\xc3\xa9/na\xc3\xafve", 0);
}
END_TEST

START_TEST(path_with_spaces_and_punctuation_is_valid)
{
    path_ok("my model/layer 0:weight#1", 0);
}
END_TEST

START_TEST(path_of_4096_bytes_is_valid)
{
    char *p = long_name(4096);

    path_ok(p, 0);
    free(p);
}
END_TEST

START_TEST(empty_path_is_the_root_when_allowed)
{
    path_ok("", 1);
}
END_TEST

START_TEST(allowing_the_root_still_accepts_ordinary_paths)
{
    path_ok("model/w", 1);
}
END_TEST

/* ---- invalid paths ------------------------------------------------------- */

START_TEST(empty_path_is_rejected_when_root_not_allowed)
{
    path_bad("", 0);
}
END_TEST

START_TEST(leading_slash_is_rejected)
{
    path_bad("/a", 0);
}
END_TEST

START_TEST(lone_slash_is_rejected_even_when_root_allowed)
{
    path_bad("/", 1);
}
END_TEST

START_TEST(trailing_slash_is_rejected)
{
    path_bad("a/", 0);
}
END_TEST

START_TEST(double_slash_is_rejected)
{
    path_bad("a//b", 0);
}
END_TEST

START_TEST(double_slash_is_rejected_when_root_allowed)
{
    path_bad("a//b", 1);
}
END_TEST

START_TEST(dot_component_is_rejected)
{
    path_bad("a/./b", 0);
}
END_TEST

START_TEST(lone_dot_is_rejected)
{
    path_bad(".", 0);
}
END_TEST

START_TEST(leading_dot_component_is_rejected)
{
    path_bad("./a", 0);
}
END_TEST

START_TEST(trailing_dot_component_is_rejected)
{
    path_bad("a/.", 0);
}
END_TEST

START_TEST(leading_dotdot_component_is_rejected)
{
    path_bad("../a", 0);
}
END_TEST

START_TEST(trailing_dotdot_component_is_rejected)
{
    path_bad("a/..", 0);
}
END_TEST

START_TEST(lone_dotdot_is_rejected)
{
    path_bad("..", 0);
}
END_TEST

START_TEST(newline_in_path_is_rejected)
{
    path_bad("a\nb", 0);
}
END_TEST

START_TEST(tab_in_path_is_rejected)
{
    path_bad("a\tb", 0);
}
END_TEST

START_TEST(delete_character_in_path_is_rejected)
{
    path_bad("a\x7f", 0);
}
END_TEST

START_TEST(control_character_0x01_in_path_is_rejected)
{
    path_bad("\x01", 0);
}
END_TEST

START_TEST(control_character_0x1f_in_path_is_rejected)
{
    path_bad("model/w\x1f", 0);
}
END_TEST

START_TEST(path_of_4097_bytes_is_rejected)
{
    char *p = long_name(4097);

    path_bad(p, 0);
    free(p);
}
END_TEST

/* ---- attribute names ----------------------------------------------------- */

START_TEST(short_attribute_name_is_valid)
{
    attr_ok("lr", 0);
}
END_TEST

START_TEST(attribute_name_with_dots_spaces_and_utf8_is_valid)
{
    attr_ok("learning rate.v2", 0);
    attr_ok("学习率", 0);
}
END_TEST

START_TEST(attribute_name_close_to_the_prefix_is_not_reserved)
{
    attr_ok("h5ckpt", 0);
    attr_ok("x_h5ckpt_y", 0);
}
END_TEST

START_TEST(reserved_attribute_name_is_valid_when_reserved_ok)
{
    attr_ok("h5ckpt_x", 1);
    attr_ok(H5CKPT_A_FORMAT, 1);
}
END_TEST

START_TEST(attribute_name_of_255_bytes_is_valid)
{
    char *n = long_name(255);

    attr_ok(n, 0);
    free(n);
}
END_TEST

START_TEST(empty_attribute_name_is_rejected)
{
    attr_bad("", 0);
}
END_TEST

START_TEST(attribute_name_with_slash_is_rejected)
{
    attr_bad("a/b", 0);
}
END_TEST

START_TEST(reserved_attribute_name_is_rejected)
{
    attr_bad("h5ckpt_x", 0);
}
END_TEST

START_TEST(attribute_name_with_newline_is_rejected)
{
    attr_bad("a\nb", 0);
}
END_TEST

START_TEST(attribute_name_with_control_character_is_rejected)
{
    attr_bad("lr\x01", 0);
}
END_TEST

START_TEST(attribute_name_with_delete_character_is_rejected)
{
    attr_bad("\x7f", 0);
}
END_TEST

START_TEST(attribute_name_of_256_bytes_is_rejected)
{
    char *n = long_name(256);

    attr_bad(n, 0);
    free(n);
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *names_suite(void)
{
    Suite *s = suite_create("names");
    TCase *tc;

    tc = tcase_create("valid_paths");
    tcase_add_test(tc, dotted_tensor_path_in_a_group_is_valid);
    tcase_add_test(tc, single_character_path_is_valid);
    tcase_add_test(tc, dots_inside_a_component_are_ordinary_characters);
    tcase_add_test(tc, utf8_path_is_valid);
    tcase_add_test(tc, path_with_spaces_and_punctuation_is_valid);
    tcase_add_test(tc, path_of_4096_bytes_is_valid);
    tcase_add_test(tc, empty_path_is_the_root_when_allowed);
    tcase_add_test(tc, allowing_the_root_still_accepts_ordinary_paths);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid_paths");
    tcase_add_test(tc, empty_path_is_rejected_when_root_not_allowed);
    tcase_add_test(tc, leading_slash_is_rejected);
    tcase_add_test(tc, lone_slash_is_rejected_even_when_root_allowed);
    tcase_add_test(tc, trailing_slash_is_rejected);
    tcase_add_test(tc, double_slash_is_rejected);
    tcase_add_test(tc, double_slash_is_rejected_when_root_allowed);
    tcase_add_test(tc, dot_component_is_rejected);
    tcase_add_test(tc, lone_dot_is_rejected);
    tcase_add_test(tc, leading_dot_component_is_rejected);
    tcase_add_test(tc, trailing_dot_component_is_rejected);
    tcase_add_test(tc, leading_dotdot_component_is_rejected);
    tcase_add_test(tc, trailing_dotdot_component_is_rejected);
    tcase_add_test(tc, lone_dotdot_is_rejected);
    tcase_add_test(tc, newline_in_path_is_rejected);
    tcase_add_test(tc, tab_in_path_is_rejected);
    tcase_add_test(tc, delete_character_in_path_is_rejected);
    tcase_add_test(tc, control_character_0x01_in_path_is_rejected);
    tcase_add_test(tc, control_character_0x1f_in_path_is_rejected);
    tcase_add_test(tc, path_of_4097_bytes_is_rejected);
    suite_add_tcase(s, tc);

    tc = tcase_create("attribute_names");
    tcase_add_test(tc, short_attribute_name_is_valid);
    tcase_add_test(tc, attribute_name_with_dots_spaces_and_utf8_is_valid);
    tcase_add_test(tc, attribute_name_close_to_the_prefix_is_not_reserved);
    tcase_add_test(tc, reserved_attribute_name_is_valid_when_reserved_ok);
    tcase_add_test(tc, attribute_name_of_255_bytes_is_valid);
    tcase_add_test(tc, empty_attribute_name_is_rejected);
    tcase_add_test(tc, attribute_name_with_slash_is_rejected);
    tcase_add_test(tc, reserved_attribute_name_is_rejected);
    tcase_add_test(tc, attribute_name_with_newline_is_rejected);
    tcase_add_test(tc, attribute_name_with_control_character_is_rejected);
    tcase_add_test(tc, attribute_name_with_delete_character_is_rejected);
    tcase_add_test(tc, attribute_name_of_256_bytes_is_rejected);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(names_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
