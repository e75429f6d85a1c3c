/*
 * cfut_ws_handshake.c: the WebSocket opening handshake (RFC 6455 section
 * 4) over HTTP/1.1: reading a request or answer head within its limits,
 * checking it, the Sec-WebSocket-Accept key (nettle: SHA-1 and base64),
 * and the answers 101, 400, 426 and 431. It knows nothing of frames.
 */
#include "cfut_ws_int.h"

#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>

/* The GUID every accept key is derived with (RFC 6455 1.3). */
static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* Bytes a refused connection still reads and drops before it fails. */
#define LINGER_MAX 65536u

/* ---- small text helpers: no NUL terminators, lengths everywhere ---- */

static char
lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* Tells whether 'p' ('n' bytes) equals the lower-case 'lit', ignoring case. */
static bool
ieq(const char *p, size_t n, const char *lit)
{
    size_t m = strlen(lit);
    if (n != m)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(p[i]) != lit[i])
            return false;
    return true;
}

static bool
is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Tells whether the comma-separated list 'v' holds the token 'tok'. */
static bool
has_token(const char *v, size_t n, const char *tok)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t a = i, b = j;
        while (a < b && is_ows(v[a]))
            a++;
        while (b > a && is_ows(v[b - 1]))
            b--;
        if (ieq(v + a, b - a, tok))
            return true;
        i = j + 1;
    }
    return false;
}

/* Writes the accept key for the client key 'key' ('n' bytes) and a NUL. */
static void
accept_key(const char *key, size_t n, char out[29])
{
    struct sha1_ctx c;
    uint8_t d[SHA1_DIGEST_SIZE];
    sha1_init(&c);
    sha1_update(&c, n, (const uint8_t *)key);
    sha1_update(&c, sizeof ws_guid - 1, (const uint8_t *)ws_guid);
    sha1_digest(&c, sizeof d, d);
    base64_encode_raw(out, sizeof d, d);
    out[28] = '\0';
}

/* A Sec-WebSocket-Key is the base64 text of 16 bytes: 24 characters. */
static bool
key_is_valid(const char *key, size_t n)
{
    if (n != 24 || key[22] != '=' || key[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!((key[i] >= 'A' && key[i] <= 'Z') ||
              (key[i] >= 'a' && key[i] <= 'z') ||
              (key[i] >= '0' && key[i] <= '9') || key[i] == '+' ||
              key[i] == '/'))
            return false;
    struct base64_decode_ctx c;
    uint8_t raw[BASE64_DECODE_LENGTH(24)];
    size_t len = 0;
    base64_decode_init(&c);
    return base64_decode_update(&c, &len, raw, n, key) &&
           base64_decode_final(&c) && len == 16;
}

/* ---- the head ---- */

/* One line of the head, without its CRLF. */
struct line {
    const char *p;
    size_t n;
};

/*
 * Takes the next line at '*pos' of the head. Returns false when a CR is
 * not followed by LF, or a LF comes alone: both are malformed (400).
 */
static bool
next_line(const struct ws *ws, size_t *pos, struct line *out)
{
    const char *h = ws->head;
    for (size_t j = *pos; j + 1 < ws->head_end; j++) {
        if (h[j] == '\n')
            return false;
        if (h[j] == '\r') {
            if (h[j + 1] != '\n')
                return false;
            out->p = h + *pos;
            out->n = j - *pos;
            *pos = j + 2;
            return true;
        }
    }
    return false;
}

/* A header field: name and value, the value trimmed of spaces. */
struct field {
    const char *name, *value;
    size_t name_len, value_len;
};

/* Splits a field line; returns false when it is malformed. */
static bool
parse_field(struct line l, struct field *f)
{
    const char *colon = memchr(l.p, ':', l.n);
    if (colon == NULL || colon == l.p)
        return false;
    f->name = l.p;
    f->name_len = (size_t)(colon - l.p);
    for (size_t i = 0; i < f->name_len; i++)
        if (!is_tchar(f->name[i]))
            return false; /* also a folded line, which starts with a space */
    const char *v = colon + 1, *end = l.p + l.n;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    for (const char *c = v; c < end; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return false;
        else if (*c == 0x7f)
            return false;
    f->value = v;
    f->value_len = (size_t)(end - v);
    return true;
}

/*
 * Reads the head into 'head' until its empty line. Returns 1 when it is
 * complete ('head_end' set), 0 when pending, CFUT_EMSGSIZE when it does
 * not fit in 'max_head' bytes, or the inner read's end.
 */
static int
read_head(struct ws *ws, struct cfut_context *cx)
{
    for (;;) {
        if (ws->head_len == ws->max_head)
            return CFUT_EMSGSIZE;
        struct cfut_stream_result res;
        if (cfut_stream_poll_read(ws->inner, cx, ws->head + ws->head_len,
                                  ws->max_head - ws->head_len,
                                  &res) == CFUT_PENDING)
            return 0;
        if (res.status != 0)
            return res.status == CFUT_EEOF ? CFUT_ECONNRESET : res.status;
        size_t from = ws->head_len >= 2 ? ws->head_len - 2 : 0;
        ws->head_len += res.n;
        /* The head ends at an empty line: LF CR LF (or LF LF, refused). */
        for (size_t i = from; i + 1 < ws->head_len; i++) {
            if (ws->head[i] != '\n')
                continue;
            if (ws->head[i + 1] == '\n') {
                ws->head_end = i + 2;
                return 1;
            }
            if (ws->head[i + 1] == '\r' && i + 2 < ws->head_len &&
                ws->head[i + 2] == '\n') {
                ws->head_end = i + 3;
                return 1;
            }
        }
    }
}

/* Appends text to 'obuf' (the answer or request always fits: checked). */
static void
put(struct ws *ws, const char *s)
{
    size_t n = strlen(s);
    CFUT_ASSERT(ws->o_cap - ws->o_len >= n, "ws: handshake overflows buffer");
    memcpy(ws->obuf + ws->o_len, s, n);
    ws->o_len += n;
}

/* ---- server ---- */

/* Checks the request head: returns the HTTP status to answer with. */
static int
check_request(struct ws *ws)
{
    size_t pos = 0;
    struct line l;
    if (!next_line(ws, &pos, &l))
        return 400;
    /* GET SP request-target SP HTTP/1.1 */
    const char *sp1 = memchr(l.p, ' ', l.n);
    if (sp1 == NULL)
        return 400;
    const char *target = sp1 + 1, *end = l.p + l.n;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (sp2 == NULL || sp2 == target)
        return 400;
    for (const char *c = target; c < sp2; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return 400;
    if ((size_t)(sp1 - l.p) != 3 || memcmp(l.p, "GET", 3) != 0 ||
        (size_t)(end - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.1", 8) != 0)
        return 400;
    size_t n_fields = 0, n_host = 0, n_key = 0, n_version = 0;
    bool upgrade = false, connection = false, version_ok = true;
    const char *key = NULL;
    size_t key_len = 0;
    for (;;) {
        if (!next_line(ws, &pos, &l))
            return 400;
        if (l.n == 0)
            break;
        if (++n_fields > ws->max_fields)
            return 431;
        struct field f;
        if (!parse_field(l, &f))
            return 400;
        if (ieq(f.name, f.name_len, "host")) {
            n_host++;
        } else if (ieq(f.name, f.name_len, "upgrade")) {
            upgrade = upgrade || has_token(f.value, f.value_len, "websocket");
        } else if (ieq(f.name, f.name_len, "connection")) {
            connection =
                connection || has_token(f.value, f.value_len, "upgrade");
        } else if (ieq(f.name, f.name_len, "sec-websocket-version")) {
            n_version++;
            version_ok =
                version_ok && f.value_len == 2 && memcmp(f.value, "13", 2) == 0;
        } else if (ieq(f.name, f.name_len, "sec-websocket-key")) {
            n_key++;
            key = f.value;
            key_len = f.value_len;
        }
    }
    if (!upgrade || !connection || n_version != 1 || !version_ok)
        return 426;
    if (n_key != 1 || !key_is_valid(key, key_len) || n_host != 1)
        return 400;
    accept_key(key, key_len, ws->accept);
    return 101;
}

/* Puts a refusal into 'obuf': status line, extra fields, a text body. */
static void
refuse(struct ws *ws, const char *status_line, const char *fields,
       const char *body)
{
    char len[24];
    snprintf(len, sizeof len, "%zu", strlen(body));
    put(ws, status_line);
    put(ws, fields);
    put(ws, "Content-Type: text/plain\r\nContent-Length: ");
    put(ws, len);
    put(ws, "\r\n\r\n");
    put(ws, body);
}

/* Puts the answer for 'status' into 'obuf'. */
static void
answer(struct ws *ws, int status)
{
    ws->st.http_status = status;
    if (status == 101) {
        put(ws, "HTTP/1.1 101 Switching Protocols\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: ");
        put(ws, ws->accept);
        put(ws, "\r\n\r\n");
    } else if (status == 426) {
        refuse(ws, "HTTP/1.1 426 Upgrade Required\r\n",
               "Upgrade: websocket\r\nConnection: Upgrade, close\r\n"
               "Sec-WebSocket-Version: 13\r\n",
               "this is a WebSocket server (version 13)\n");
    } else if (status == 431) {
        refuse(ws, "HTTP/1.1 431 Request Header Fields Too Large\r\n",
               "Connection: close\r\n", "the request head is too large\n");
    } else {
        refuse(ws, "HTTP/1.1 400 Bad Request\r\n", "Connection: close\r\n",
               "not a valid WebSocket opening request\n");
    }
}

/* ---- client ---- */

/* Checks the answer head: returns 0 or CFUT_EPROTO. */
static int
check_answer(struct ws *ws)
{
    size_t pos = 0;
    struct line l;
    /* HTTP/1.1 SP 3DIGIT SP reason */
    if (!next_line(ws, &pos, &l) || l.n < 12 ||
        memcmp(l.p, "HTTP/1.1 ", 9) != 0 || (l.n > 12 && l.p[12] != ' '))
        return CFUT_EPROTO;
    int code = 0;
    for (size_t i = 9; i < 12; i++) {
        if (l.p[i] < '0' || l.p[i] > '9')
            return CFUT_EPROTO;
        code = code * 10 + (l.p[i] - '0');
    }
    ws->st.http_status = code;
    if (code != 101)
        return CFUT_EPROTO;
    size_t n_fields = 0;
    bool upgrade = false, connection = false, accept_ok = false;
    for (;;) {
        if (!next_line(ws, &pos, &l))
            return CFUT_EPROTO;
        if (l.n == 0)
            break;
        struct field f;
        if (++n_fields > ws->max_fields || !parse_field(l, &f))
            return CFUT_EPROTO;
        if (ieq(f.name, f.name_len, "upgrade"))
            upgrade = upgrade || has_token(f.value, f.value_len, "websocket");
        else if (ieq(f.name, f.name_len, "connection"))
            connection =
                connection || has_token(f.value, f.value_len, "upgrade");
        else if (ieq(f.name, f.name_len, "sec-websocket-accept"))
            accept_ok =
                f.value_len == 28 && memcmp(f.value, ws->accept, 28) == 0;
        else if (ieq(f.name, f.name_len, "sec-websocket-extensions") ||
                 ieq(f.name, f.name_len, "sec-websocket-protocol"))
            return CFUT_EPROTO; /* neither was asked for */
    }
    return upgrade && connection && accept_ok ? 0 : CFUT_EPROTO;
}

/* Tells whether 's' may stand in a request line or field: no spaces or
 * control characters. */
static bool
is_plain(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return false;
    return true;
}

int
cfut__ws_handshake_prepare(struct ws *ws, const struct cfut_ws_config *cfg)
{
    if (ws->role == CFUT_WS_SERVER) {
        ws->phase = WS_HS_READ_HEAD;
        return 0;
    }
    const char *host = cfg->host != NULL ? cfg->host : "localhost";
    const char *path = cfg->path != NULL ? cfg->path : "/";
    if (!is_plain(host) || !is_plain(path) || path[0] != '/')
        return CFUT_EINVAL;
    /* The request and room for the control frames must fit the buffer. */
    if (strlen(host) + strlen(path) + 160 + WS_CTRL_RESERVE > ws->o_cap)
        return CFUT_EINVAL;
    struct cfut_id nonce;
    int rc = cfut_id_random(&nonce);
    if (rc == 0)
        rc = cfut_id_gen_init(&ws->masks);
    if (rc < 0)
        return rc; /* getrandom()'s error */
    char key[25];
    base64_encode_raw(key, CFUT_ID_SIZE, nonce.bytes);
    key[24] = '\0';
    accept_key(key, 24, ws->accept);
    put(ws, "GET ");
    put(ws, path);
    put(ws, " HTTP/1.1\r\nHost: ");
    put(ws, host);
    put(ws, "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: ");
    put(ws, key);
    put(ws, "\r\nSec-WebSocket-Version: 13\r\n\r\n");
    ws->phase = WS_HS_SEND_REQUEST;
    return 0;
}

/* ---- the state machine ---- */

static int
hs_fail(struct ws *ws, int status)
{
    ws->phase = WS_HS_FAILED;
    ws->hs_status = status;
    return status;
}

/*
 * The states, what each waits for and what moves it on:
 * - WS_HS_SEND_REQUEST (client): the request going out; then READ_HEAD.
 * - WS_HS_READ_HEAD: the head coming in up to its empty line; the server
 *   then answers (SEND_ANSWER), the client checks the answer (OPEN or
 *   FAILED).
 * - WS_HS_SEND_ANSWER (server): the answer going out; OPEN after a 101,
 *   else LINGER.
 * - WS_HS_LINGER: shuts our write side and drops what the peer sent
 *   meanwhile (so that closing does not reset the connection before the
 *   peer read the answer); then FAILED.
 */
int
cfut__ws_handshake(struct ws *ws, struct cfut_context *cx)
{
    for (;;) {
        int rc;
        switch (ws->phase) {
        case WS_OPEN:
            return 1;
        case WS_HS_FAILED:
            return ws->hs_status;
        case WS_HS_SEND_REQUEST:
            rc = cfut__ws_flush(ws, cx);
            if (rc <= 0)
                return rc == 0 ? 0 : hs_fail(ws, rc);
            ws->phase = WS_HS_READ_HEAD;
            break;
        case WS_HS_READ_HEAD:
            rc = read_head(ws, cx);
            if (rc == 0)
                return 0;
            if (ws->role == CFUT_WS_CLIENT) {
                if (rc == 1)
                    rc = check_answer(ws);
                if (rc < 0)
                    return hs_fail(ws, rc);
                ws->phase = WS_OPEN;
                break;
            }
            if (rc < 0 && rc != CFUT_EMSGSIZE)
                return hs_fail(ws, rc);
            answer(ws, rc == 1 ? check_request(ws) : 431);
            ws->phase = WS_HS_SEND_ANSWER;
            break;
        case WS_HS_SEND_ANSWER:
            rc = cfut__ws_flush(ws, cx);
            if (rc <= 0)
                return rc == 0 ? 0 : hs_fail(ws, rc);
            ws->phase = ws->st.http_status == 101 ? WS_OPEN : WS_HS_LINGER;
            break;
        case WS_HS_LINGER: {
            struct cfut_stream_result r;
            if (cfut_stream_poll_shutdown(ws->inner, cx, &r) == CFUT_PENDING)
                return 0;
            size_t drained = 0;
            while (drained < LINGER_MAX &&
                   cfut_stream_poll_read(ws->inner, cx, ws->obuf, ws->o_cap,
                                         &r) == CFUT_READY &&
                   r.status == 0)
                drained += r.n;
            return hs_fail(ws, ws->st.http_status == 431 ? CFUT_EMSGSIZE
                                                         : CFUT_EPROTO);
        }
        }
        if (ws->phase == WS_OPEN) {
            /* The bytes after the head are the first frames. */
            ws->head_off = ws->head_end;
            if (ws->head_off == ws->head_len) {
                cfut_free(ws->head);
                ws->head = NULL;
            }
        }
    }
}
