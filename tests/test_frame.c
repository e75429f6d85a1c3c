/*
 * test_frame.c: wire format v1: encoding, the incremental decoder (many
 * frames per buffer, frames split at every byte boundary, malformed,
 * oversized, unknown version and kind), ids, allocation failure.
 */
#include "testkit.h"

#include <stdlib.h>
#include <string.h>

/* The worked example of docs/wire-format.md. */
static const unsigned char example_id[16] = {0x6b, 0x1f, 0x4e, 0x0a, 0x9c, 0x3d,
                                             0x4f, 0x21, 0x8a, 0x55, 0xd0, 0xe7,
                                             0x13, 0x9b, 0x2c, 0x46};
static const unsigned char example_frame[26] = {
    0x00, 0x00, 0x00, 0x16, 0x01, 0x01, 0x00, 0x00, 0x6b,
    0x1f, 0x4e, 0x0a, 0x9c, 0x3d, 0x4f, 0x21, 0x8a, 0x55,
    0xd0, 0xe7, 0x13, 0x9b, 0x2c, 0x46, 'h',  'i'};

static struct cfut_id
make_id(unsigned seed)
{
    struct cfut_id id;
    for (unsigned i = 0; i < 16; i++)
        id.bytes[i] = (unsigned char)(seed * 31u + i * 7u);
    return id;
}

/* A decoded frame, copied out of the decoder. */
struct got {
    uint8_t kind;
    struct cfut_id id;
    size_t len;
    unsigned char payload[512];
};

/*
 * Feeds 'data' to 'd' in pieces cut at the offsets in 'cuts' (ascending),
 * collecting frames into 'g'. Returns the number of frames, or a negative
 * status at the first error.
 */
static int
feed_cut(struct cfut_frame_decoder *d, const unsigned char *data, size_t n,
         const size_t *cuts, size_t n_cuts, struct got *g, int max_got)
{
    int n_got = 0;
    size_t start = 0;
    for (size_t c = 0; c <= n_cuts; c++) {
        size_t end = c < n_cuts ? cuts[c] : n;
        const unsigned char *p = data + start;
        size_t left = end - start;
        for (;;) {
            size_t used = 0;
            struct cfut_frame f;
            int rc = cfut_frame_decoder_next(d, p, left, &used, &f);
            if (rc < 0)
                return rc;
            ck_assert_uint_le(used, left);
            p += used;
            left -= used;
            if (rc == 0) {
                ck_assert_uint_eq(left, 0);
                break;
            }
            ck_assert_int_lt(n_got, max_got);
            g[n_got].kind = f.kind;
            g[n_got].id = f.id;
            g[n_got].len = f.payload_len;
            ck_assert_uint_le(f.payload_len, sizeof g[n_got].payload);
            if (f.payload_len != 0)
                memcpy(g[n_got].payload, f.payload, f.payload_len);
            n_got++;
        }
        start = end;
    }
    return n_got;
}

/* Three frames back to back: sizes 0, 5 and 300; returns the byte count. */
static size_t
three_frames(unsigned char *buf, size_t cap)
{
    static unsigned char big[300];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)(i * 13u);
    size_t off = 0, w = 0;
    struct cfut_id a = make_id(1), b = make_id(2), c = make_id(3);
    ck_assert_int_eq(
        cfut_frame_encode(buf, cap, CFUT_FRAME_REQUEST, &a, NULL, 0, 0, &w), 0);
    off += w;
    ck_assert_int_eq(cfut_frame_encode(buf + off, cap - off,
                                       CFUT_FRAME_RESPONSE, &b, "hello", 5, 0,
                                       &w),
                     0);
    off += w;
    ck_assert_int_eq(cfut_frame_encode(buf + off, cap - off, CFUT_FRAME_ERROR,
                                       &c, big, sizeof big, 0, &w),
                     0);
    return off + w;
}

static void
check_three(const struct got *g)
{
    struct cfut_id a = make_id(1), b = make_id(2), c = make_id(3);
    ck_assert_int_eq(g[0].kind, CFUT_FRAME_REQUEST);
    ck_assert(cfut_id_eq(&g[0].id, &a));
    ck_assert_uint_eq(g[0].len, 0);
    ck_assert_int_eq(g[1].kind, CFUT_FRAME_RESPONSE);
    ck_assert(cfut_id_eq(&g[1].id, &b));
    ck_assert_uint_eq(g[1].len, 5);
    ck_assert_mem_eq(g[1].payload, "hello", 5);
    ck_assert_int_eq(g[2].kind, CFUT_FRAME_ERROR);
    ck_assert(cfut_id_eq(&g[2].id, &c));
    ck_assert_uint_eq(g[2].len, 300);
    bool same = true;
    for (size_t i = 0; i < 300; i++)
        same = same && g[2].payload[i] == (unsigned char)(i * 13u);
    ck_assert(same);
}

/* ---- encoding ---- */

START_TEST(test_frame_encode_matches_the_worked_example)
{
    struct cfut_id id;
    memcpy(id.bytes, example_id, 16);
    unsigned char buf[64];
    size_t w = 0;

    int rc = cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_REQUEST, &id, "hi",
                               2, 0, &w);

    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(w, sizeof example_frame);
    ck_assert_mem_eq(buf, example_frame, sizeof example_frame);
}
END_TEST

START_TEST(test_frame_length_counts_what_follows_it)
{
    struct cfut_id id = make_id(9);
    unsigned char buf[64], pay[16] = {0};
    size_t w = 0;

    ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_REQUEST, &id,
                                       pay, 16, 0, &w),
                     0);

    /* As the Rust peer: 40 bytes in all, length field 36. */
    ck_assert_uint_eq(w, 40);
    ck_assert_uint_eq(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3], 36);
}
END_TEST

START_TEST(test_frame_encode_rejects_bad_arguments)
{
    struct cfut_id id = make_id(1);
    unsigned char buf[64];
    size_t w = 12345;

    ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, 4, &id, "x", 1, 0, &w),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, 0, &id, "x", 1, 0, &w),
                     CFUT_EINVAL);
    ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_REQUEST, &id,
                                       NULL, 1, 0, &w),
                     CFUT_EINVAL);
    ck_assert_int_eq(
        cfut_frame_encode(buf, 10, CFUT_FRAME_REQUEST, &id, "x", 1, 0, &w),
        CFUT_EMSGSIZE);
    ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_REQUEST, &id,
                                       "xyz", 3, 22, &w),
                     CFUT_EMSGSIZE);
    ck_assert_uint_eq(w, 12345);
}
END_TEST

/* ---- decoding ---- */

START_TEST(test_frame_decodes_the_worked_example)
{
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
    struct cfut_frame f;
    size_t used = 0;

    int rc = cfut_frame_decoder_next(&d, example_frame, sizeof example_frame,
                                     &used, &f);

    ck_assert_int_eq(rc, 1);
    ck_assert_uint_eq(used, sizeof example_frame);
    ck_assert_int_eq(f.kind, CFUT_FRAME_REQUEST);
    ck_assert_mem_eq(f.id.bytes, example_id, 16);
    ck_assert_uint_eq(f.payload_len, 2);
    ck_assert_mem_eq(f.payload, "hi", 2);
    /* A whole frame is returned in place: no copy. */
    ck_assert_ptr_eq(f.payload, example_frame + 24);
    cfut_frame_decoder_deinit(&d);
}
END_TEST

START_TEST(test_frame_decodes_many_frames_from_one_buffer)
{
    unsigned char buf[1024];
    size_t n = three_frames(buf, sizeof buf);
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
    static struct got g[8];
    long allocs = testkit_alloc_count();

    int n_got = feed_cut(&d, buf, n, NULL, 0, g, 8);

    ck_assert_int_eq(n_got, 3);
    check_three(g);
    ck_assert_uint_eq(cfut_frame_decoder_n_frames(&d), 3);
    ck_assert_int_eq(testkit_alloc_count(), allocs);
    cfut_frame_decoder_deinit(&d);
}
END_TEST

START_TEST(test_frame_split_at_every_byte_boundary_decodes_the_same)
{
    unsigned char buf[1024];
    size_t n = three_frames(buf, sizeof buf);
    static struct got g[8];

    for (size_t cut = 0; cut <= n; cut++) {
        struct cfut_frame_decoder d;
        ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
        memset(g, 0, sizeof g);

        int n_got = feed_cut(&d, buf, n, &cut, 1, g, 8);

        ck_assert_int_eq(n_got, 3);
        check_three(g);
        ck_assert(!cfut_frame_decoder_has_partial(&d));
        cfut_frame_decoder_deinit(&d);
    }
}
END_TEST

START_TEST(test_frame_split_at_two_boundaries_decodes_the_same)
{
    unsigned char buf[1024];
    size_t n = three_frames(buf, sizeof buf);
    static struct got g[8];

    for (size_t c1 = 0; c1 <= n; c1 += 7) {
        for (size_t c2 = c1; c2 <= n; c2 += 11) {
            size_t cuts[2] = {c1, c2};
            struct cfut_frame_decoder d;
            ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);

            int n_got = feed_cut(&d, buf, n, cuts, 2, g, 8);

            ck_assert_int_eq(n_got, 3);
            check_three(g);
            cfut_frame_decoder_deinit(&d);
        }
    }
}
END_TEST

START_TEST(test_frame_byte_by_byte_decodes_the_same)
{
    unsigned char buf[1024];
    size_t n = three_frames(buf, sizeof buf);
    static size_t cuts[1024];
    for (size_t i = 0; i < n; i++)
        cuts[i] = i;
    static struct got g[8];
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);

    int n_got = feed_cut(&d, buf, n, cuts, n, g, 8);

    ck_assert_int_eq(n_got, 3);
    check_three(g);
    cfut_frame_decoder_deinit(&d);
}
END_TEST

START_TEST(test_frame_round_trips_payload_sizes)
{
    static unsigned char pay[4096], buf[4096 + 24];
    static const size_t sizes[] = {0, 1, 15, 16, 17, 255, 256, 4095, 4096};
    for (size_t i = 0; i < sizeof pay; i++)
        pay[i] = (unsigned char)(i ^ (i >> 8));

    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct cfut_id id = make_id((unsigned)k);
        size_t w = 0;
        ck_assert_int_eq(cfut_frame_encode(buf, sizeof buf, CFUT_FRAME_RESPONSE,
                                           &id, pay, sizes[k], 0, &w),
                         0);
        struct cfut_frame_decoder d;
        ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
        struct cfut_frame f;
        size_t used = 0;

        int rc = cfut_frame_decoder_next(&d, buf, w, &used, &f);

        ck_assert_int_eq(rc, 1);
        ck_assert_uint_eq(used, w);
        ck_assert_uint_eq(f.payload_len, sizes[k]);
        ck_assert(cfut_id_eq(&f.id, &id));
        if (sizes[k] != 0)
            ck_assert_mem_eq(f.payload, pay, sizes[k]);
        cfut_frame_decoder_deinit(&d);
    }
}
END_TEST

/* Feeds 'n' bytes and returns the decoder's verdict. */
static int
decode_bytes(size_t max_len, const unsigned char *b, size_t n)
{
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, max_len), 0);
    struct cfut_frame f;
    size_t used = 0;
    int rc = cfut_frame_decoder_next(&d, b, n, &used, &f);
    if (rc >= 0 && used < n)
        rc = cfut_frame_decoder_next(&d, b + used, n - used, &used, &f);
    cfut_frame_decoder_deinit(&d);
    return rc;
}

START_TEST(test_frame_length_below_20_is_eproto)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);
    b[3] = 19;

    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
    /* Refused as soon as the four length bytes are in. */
    ck_assert_int_eq(decode_bytes(0, b, 4), CFUT_EPROTO);
    b[3] = 0;
    ck_assert_int_eq(decode_bytes(0, b, 4), CFUT_EPROTO);
}
END_TEST

START_TEST(test_frame_oversized_length_is_eproto_without_allocating)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);
    b[0] = 0x00;
    b[1] = 0x10;
    b[2] = 0x00;
    b[3] = 0x01; /* 1 MiB + 1 */
    long allocs = testkit_alloc_count();

    int whole = decode_bytes(0, b, sizeof b);
    int four = decode_bytes(0, b, 4);
    b[0] = b[1] = b[2] = b[3] = 0xff;
    int huge = decode_bytes(0, b, sizeof b);

    ck_assert_int_eq(whole, CFUT_EPROTO);
    ck_assert_int_eq(four, CFUT_EPROTO);
    ck_assert_int_eq(huge, CFUT_EPROTO);
    ck_assert_int_eq(testkit_alloc_count(), allocs);
}
END_TEST

START_TEST(test_frame_length_at_the_configured_maximum_is_accepted)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);

    ck_assert_int_eq(decode_bytes(22, b, sizeof b), 1);
    ck_assert_int_eq(decode_bytes(21, b, sizeof b), CFUT_EPROTO);
}
END_TEST

START_TEST(test_frame_unknown_version_is_eproto)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);
    b[4] = 2;

    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
    ck_assert_int_eq(decode_bytes(0, b, 5), CFUT_EPROTO);
    b[4] = 0;
    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
}
END_TEST

START_TEST(test_frame_unknown_kind_is_eproto)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);

    b[5] = 0;
    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
    b[5] = 4;
    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
    b[5] = 0xff;
    ck_assert_int_eq(decode_bytes(0, b, 6), CFUT_EPROTO);
}
END_TEST

START_TEST(test_frame_nonzero_reserved_is_eproto)
{
    unsigned char b[26];
    memcpy(b, example_frame, sizeof b);

    b[7] = 1;
    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
    b[7] = 0;
    b[6] = 0x80;
    ck_assert_int_eq(decode_bytes(0, b, sizeof b), CFUT_EPROTO);
}
END_TEST

START_TEST(test_frame_protocol_error_is_sticky)
{
    unsigned char b[52];
    memcpy(b, example_frame, 26);
    memcpy(b + 26, example_frame, 26);
    b[26 + 4] = 9;
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
    struct cfut_frame f;
    size_t used = 0;

    ck_assert_int_eq(cfut_frame_decoder_next(&d, b, 52, &used, &f), 1);
    ck_assert_int_eq(cfut_frame_decoder_next(&d, b + 26, 26, &used, &f),
                     CFUT_EPROTO);
    ck_assert_int_eq(cfut_frame_decoder_next(&d, example_frame, 26, &used, &f),
                     CFUT_EPROTO);
    cfut_frame_decoder_deinit(&d);
}
END_TEST

START_TEST(test_frame_decoder_init_rejects_a_tiny_maximum)
{
    struct cfut_frame_decoder d;

    ck_assert_int_eq(cfut_frame_decoder_init(&d, 19), CFUT_EINVAL);
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 20), 0);
    cfut_frame_decoder_deinit(&d);
}
END_TEST

START_TEST(test_frame_split_payload_enomem_consumes_nothing_and_retries)
{
    unsigned char buf[1024];
    size_t n = three_frames(buf, sizeof buf);
    size_t cut = n - 10; /* inside the 300-byte payload */
    struct cfut_frame_decoder d;
    ck_assert_int_eq(cfut_frame_decoder_init(&d, 0), 0);
    struct cfut_frame f;
    size_t used = 0, off = 0;
    ck_assert_int_eq(cfut_frame_decoder_next(&d, buf, cut, &used, &f), 1);
    off += used;
    ck_assert_int_eq(
        cfut_frame_decoder_next(&d, buf + off, cut - off, &used, &f), 1);
    off += used;

    testkit_alloc_fail_at(1);
    size_t before = used;
    int rc = cfut_frame_decoder_next(&d, buf + off, cut - off, &used, &f);
    ck_assert_int_eq(rc, CFUT_ENOMEM);
    ck_assert_uint_eq(used, before);
    ck_assert(!cfut_frame_decoder_has_partial(&d));

    testkit_alloc_fail_at(0);
    ck_assert_int_eq(
        cfut_frame_decoder_next(&d, buf + off, cut - off, &used, &f), 0);
    ck_assert_int_eq(cfut_frame_decoder_next(&d, buf + cut, n - cut, &used, &f),
                     1);
    ck_assert_uint_eq(f.payload_len, 300);
    ck_assert_uint_eq(f.payload[299], (unsigned char)(299 * 13u));
    cfut_frame_decoder_deinit(&d);
}
END_TEST

/* ---- ids ---- */

static bool
is_uuid_v4(const struct cfut_id *id)
{
    return (id->bytes[6] >> 4) == 4 && (id->bytes[8] >> 6) == 2;
}

START_TEST(test_frame_random_ids_have_the_uuid_v4_layout)
{
    struct cfut_id a, b;

    ck_assert_int_eq(cfut_id_random(&a), 0);
    ck_assert_int_eq(cfut_id_random(&b), 0);

    ck_assert(is_uuid_v4(&a));
    ck_assert(is_uuid_v4(&b));
    ck_assert(!cfut_id_eq(&a, &b));
    ck_assert_int_eq(cfut_id_random(NULL), CFUT_EINVAL);
}
END_TEST

START_TEST(test_frame_generated_ids_are_distinct_uuid_v4)
{
    struct cfut_id_gen g;
    ck_assert_int_eq(cfut_id_gen_init(&g), 0);
    struct cfut_idmap m;
    ck_assert_int_eq(cfut_idmap_init(&m, 0), 0);

    for (int i = 0; i < 100000; i++) {
        struct cfut_id id;
        cfut_id_gen_next(&g, &id);
        ck_assert(is_uuid_v4(&id));
        ck_assert_int_eq(cfut_idmap_insert(&m, &id, NULL), 0);
    }

    ck_assert_uint_eq(cfut_idmap_size(&m), 100000);
    cfut_idmap_deinit(&m);
}
END_TEST

START_TEST(test_frame_id_formats_as_uuid_text)
{
    struct cfut_id id;
    memcpy(id.bytes, example_id, 16);
    char text[37];

    cfut_id_format(&id, text);

    ck_assert_str_eq(text, "6b1f4e0a-9c3d-4f21-8a55-d0e7139b2c46");
}
END_TEST

static Suite *
frame_suite(void)
{
    Suite *s = suite_create("frame");
    TCase *tc = tcase_create("encode");
    testkit_fixture(tc);
    tcase_add_test(tc, test_frame_encode_matches_the_worked_example);
    tcase_add_test(tc, test_frame_length_counts_what_follows_it);
    tcase_add_test(tc, test_frame_encode_rejects_bad_arguments);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    testkit_fixture(tc);
    tcase_add_test(tc, test_frame_decodes_the_worked_example);
    tcase_add_test(tc, test_frame_decodes_many_frames_from_one_buffer);
    tcase_add_test(tc,
                   test_frame_split_at_every_byte_boundary_decodes_the_same);
    tcase_add_test(tc, test_frame_split_at_two_boundaries_decodes_the_same);
    tcase_add_test(tc, test_frame_byte_by_byte_decodes_the_same);
    tcase_add_test(tc, test_frame_round_trips_payload_sizes);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    testkit_fixture(tc);
    tcase_add_test(tc, test_frame_length_below_20_is_eproto);
    tcase_add_test(tc,
                   test_frame_oversized_length_is_eproto_without_allocating);
    tcase_add_test(tc, test_frame_length_at_the_configured_maximum_is_accepted);
    tcase_add_test(tc, test_frame_unknown_version_is_eproto);
    tcase_add_test(tc, test_frame_unknown_kind_is_eproto);
    tcase_add_test(tc, test_frame_nonzero_reserved_is_eproto);
    tcase_add_test(tc, test_frame_protocol_error_is_sticky);
    tcase_add_test(tc, test_frame_decoder_init_rejects_a_tiny_maximum);
    suite_add_tcase(s, tc);

    tc = tcase_create("allocation");
    testkit_fixture(tc);
    tcase_add_test(
        tc, test_frame_split_payload_enomem_consumes_nothing_and_retries);
    suite_add_tcase(s, tc);

    tc = tcase_create("ids");
    testkit_fixture(tc);
    tcase_add_test(tc, test_frame_random_ids_have_the_uuid_v4_layout);
    tcase_add_test(tc, test_frame_generated_ids_are_distinct_uuid_v4);
    tcase_add_test(tc, test_frame_id_formats_as_uuid_text);
    suite_add_tcase(s, tc);
    return s;
}

int
main(void)
{
    return testkit_run(frame_suite());
}
