/*
 * decode_push: decode iDigi push streams with libferrolink.
 *
 *   decode_push              check the documented wire vectors (specs/idigi.md); exit 0 if all hold
 *   decode_push FILE...      decode each file as a raw push stream and print its frames
 *
 * Build (from the repository root, after `cargo build -p ferrolink-ffi --release`):
 *   cc -std=c99 -Wall -Wextra -Irust/ffi/include rust/ffi/examples/decode_push.c \
 *      -Ltarget/release -lferrolink -Wl,-rpath,"$PWD/target/release" -o decode_push
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ferrolink.h"

static int failures = 0;

static void fail(const char *what) {
    fprintf(stderr, "FAIL %s: %s\n", what, fl_last_error());
    failures++;
}

static void expect(int ok, const char *what) {
    if (ok) {
        printf("ok   %s\n", what);
    } else {
        fprintf(stderr, "FAIL %s\n", what);
        failures++;
    }
}

/* Hex text (spaces ignored) to bytes; returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out) {
    size_t n = 0;
    unsigned int byte;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        if (sscanf(hex, "%2x", &byte) != 1) {
            break;
        }
        out[n++] = (uint8_t)byte;
        hex += 2;
    }
    return n;
}

/* Where an entry's payload is: in the data just fed, or in the batch's bytes. */
static const uint8_t *payload_of(const FlIdigiEntry *f, const uint8_t *fed, const FlIdigiBatch *batch) {
    return (f->payload_in_input ? fed : batch->bytes) + f->payload.offset;
}

static void print_frame(const FlIdigiEntry *f, const uint8_t *fed, const FlIdigiBatch *batch) {
    const uint8_t *bytes = batch->bytes;
    switch (f->message_type) {
    case 1:
        printf("  ConnectRequest version=%u username=%.*s monitor_id=%u\n", f->version,
               (int)f->username.len, (const char *)bytes + f->username.offset, f->monitor_id);
        break;
    case 2:
        printf("  ConnectResponse status=%u version=%u\n", f->status, f->version);
        break;
    case 3:
        printf("  PublishMessage block_id=%u count=%u compression=%u format=%s payload=%td bytes: "
               "%.*s...\n",
               f->block_id, f->count, f->compression, f->format ? "json" : "xml", f->payload.len,
               f->payload.len < 40 ? (int)f->payload.len : 40,
               (const char *)payload_of(f, fed, batch));
        break;
    case 4:
        printf("  PublishMessageReceived block_id=%u status=%u\n", f->block_id, f->status);
        break;
    default:
        printf("  unknown message type %u, %u bytes skipped\n", f->message_type, f->size);
    }
}

/* The last PublishMessage payload decode() saw, copied: spans die with their batch. */
static uint8_t last_payload[2048];
static size_t last_payload_len = 0;

/* Feed `data` in chunks of `chunk` bytes; store up to `max` frames' fields in `frames`
 * (their spans are not usable after the batch). Returns the number of frames, -1 if a frame
 * was malformed. */
static int decode(const uint8_t *data, size_t len, size_t chunk, FlIdigiEntry *frames, int max,
                  int verbose) {
    FlIdigiDecoder *decoder = NULL;
    FlIdigiBatch batch;
    int count = 0, bad = 0;
    if (fl_idigi_decoder_new(NULL, &decoder) != FL_STATUS_OK) {
        fail("fl_idigi_decoder_new");
        return -1;
    }
    for (size_t at = 0; at < len; at += chunk) {
        size_t n = len - at < chunk ? len - at : chunk;
        /* One call per read: the batch holds every frame it completed, valid until the next. */
        if (fl_idigi_decoder_feed(decoder, data + at, n, &batch) != FL_STATUS_OK) {
            fail("fl_idigi_decoder_feed");
            bad = 1;
            break;
        }
        for (size_t i = 0; i < batch.len; i++) {
            const FlIdigiEntry *e = &batch.entries[i];
            if (e->result != FL_STATUS_OK) {
                if (verbose) {
                    fprintf(stderr, "  malformed frame: %.*s\n", (int)e->error.len,
                            (const char *)batch.bytes + e->error.offset);
                }
                bad = 1;
                continue;
            }
            if (verbose) {
                print_frame(e, data + at, &batch);
            }
            if (e->message_type == 3 && (size_t)e->payload.len <= sizeof last_payload) {
                last_payload_len = (size_t)e->payload.len;
                memcpy(last_payload, payload_of(e, data + at, &batch), last_payload_len);
            }
            if (count < max) {
                frames[count] = *e;
            }
            count++;
        }
    }
    fl_idigi_decoder_free(decoder);
    return bad ? -1 : count;
}

static void check_connect_request(const char *user, const char *pass, uint32_t monitor,
                                  const char *hex, const char *what) {
    uint8_t want[64];
    size_t want_len = unhex(hex, want);
    FlBuffer out = {0};
    FlIdigiEntry frame;
    if (fl_idigi_encode_connect_request((const uint8_t *)user, strlen(user), (const uint8_t *)pass,
                                        strlen(pass), monitor, &out) != FL_STATUS_OK) {
        fail(what);
        return;
    }
    expect(out.len == want_len && memcmp(out.data, want, want_len) == 0, what);
    int n = decode(out.data, out.len, 1, &frame, 1, 0);
    expect(n == 1 && frame.message_type == 1 && frame.monitor_id == monitor, "  ...and decodes back");
    fl_buffer_free(&out);
}

/* A PublishMessage with the documented header and a `size`-byte payload from `text`, padded. */
static size_t publish_vector(const char *header_hex, const char *text, size_t size, uint8_t *out) {
    size_t n = unhex(header_hex, out);
    size_t text_len = strlen(text);
    memset(out + n, ' ', size);
    memcpy(out + n, text, text_len < size ? text_len : size);
    return n + size;
}

static const char XML_DOC[] =
    "<Document>"
    "<Msg topic=\"42/DeviceCore/1001/3\" operation=\"update\" timestamp=\"2024-05-01T10:00:00.000Z\">"
    "<DeviceCore><id><devId>1001</devId><devVersion>3</devVersion></id></DeviceCore></Msg>"
    "<Msg topic=\"42/DeviceCore/1002/1\" operation=\"create\" timestamp=\"2024-05-01T10:00:00.250Z\" "
    "replay=\"true\"><DeviceCore><id><devId>1002</devId></id></DeviceCore></Msg>"
    "</Document>";

static const char JSON_DOC[] =
    "{\"Document\": {\"Msg\": {\"timestamp\": \"2024-05-01T10:00:00.000Z\", "
    "\"topic\": \"42/DeviceCore/1001/3\", \"operation\": \"UPDATE\", "
    "\"DeviceCore\": {\"id\": {\"devId\": 1001, \"devVersion\": 3}, \"devMac\": \"00:40:9D:00:00:01\"}}}}";

static int builtin_vectors(void) {
    uint8_t buf[2048], want[16];
    FlIdigiEntry frames[4];
    FlBuffer out = {0};
    size_t len;
    int n;

    printf("libferrolink %s: the documented iDigi wire vectors\n", fl_version());

    check_connect_request("pepsi", "cola", 0x104,
                          "0001 00000013 0001 0005 7065707369 0004 636f6c61 00000104",
                          "ConnectRequest pepsi/cola monitor 0x104 (docs)");
    check_connect_request("user", "pass", 99850,
                          "0001 00000012 0001 0004 75736572 0004 70617373 0001860a",
                          "ConnectRequest user/pass monitor 99850 (Python originals)");
    check_connect_request("j\xc3\xbcrgen", "pw", 1,
                          "0001 00000013 0001 0007 6ac3bc7267656e 0002 7077 00000001",
                          "ConnectRequest UTF-8 user monitor 1");

    len = unhex("0002 00000004 00c8 0001", buf);
    n = decode(buf, len, 3, frames, 1, 0);
    expect(n == 1 && frames[0].message_type == 2 && frames[0].status == 200 && frames[0].version == 1,
           "ConnectResponse status 200 version 1 (Java sample)");

    /* The docs print size 0x215 for PayloadSize 0x205, counting the 6-byte header; the size
     * field follows the documented rule, 10 + PayloadSize = 0x20f. */
    len = publish_vector("0003 0000020f 01a7 0002 00 00 00000205", XML_DOC, 517, buf);
    n = decode(buf, len, 7, frames, 1, 0);
    expect(n == 1 && frames[0].block_id == 0x01a7 && frames[0].count == 2 && frames[0].format == 0 &&
               frames[0].payload.len == 517 && memcmp(last_payload, XML_DOC, 40) == 0,
           "PublishMessage block 0x01a7, 2 messages, 517 bytes of XML (docs)");

    len = publish_vector("0003 00000206 0000 0001 00 01 000001fc", JSON_DOC, 508, buf);
    len += publish_vector("0003 00000206 0001 0001 00 01 000001fc", JSON_DOC, 508, buf + len);
    n = decode(buf, len, len, frames, 2, 0);
    expect(n == 2 && frames[0].block_id == 0 && frames[1].block_id == 1 && frames[1].format == 1 &&
               frames[1].payload.len == 508 && frames[1].payload_in_input &&
               memcmp(last_payload, JSON_DOC, 40) == 0,
           "two back-to-back 524-byte JSON frames in one read (Java sample stream)");

    uint8_t ack[FL_IDIGI_ACK_LEN];
    len = unhex("0004 00000004 01a7 00c8", want);
    expect(fl_idigi_encode_ack(0x01a7, 200, ack, sizeof ack) == FL_STATUS_OK &&
               memcmp(ack, want, len) == 0,
           "ack of block 0x01a7 is 0004 00000004 01a7 00c8");
    len = unhex("0004 00000004 012c 00c8", want);
    expect(fl_idigi_encode_ack(300, 200, ack, sizeof ack) == FL_STATUS_OK && memcmp(ack, want, len) == 0,
           "ack of block 300 is 0004 00000004 012c 00c8");

    if (fl_idigi_encode_publish(7, 1, 1, 1, (const uint8_t *)JSON_DOC, strlen(JSON_DOC), &out) !=
        FL_STATUS_OK) {
        fail("fl_idigi_encode_publish");
    } else {
        n = decode(out.data, out.len, 1, frames, 1, 0);
        expect(n == 1 && frames[0].compression == 1 && !frames[0].payload_in_input &&
                   last_payload_len == strlen(JSON_DOC) &&
                   memcmp(last_payload, JSON_DOC, last_payload_len) == 0,
               "zlib PublishMessage fed byte by byte inflates to its JSON");
        fl_buffer_free(&out);
    }

    /* The originals' 6-byte ack is not the protocol: its "size" is 0x010200c8. */
    len = unhex("0004 0102 00c8", buf);
    memset(buf + len, 0, 4);
    n = decode(buf, len + 4, len + 4, frames, 1, 0);
    expect(n == -1, "the originals' 6-byte ack is refused as malformed");

    printf("%d failed\n", failures);
    return failures == 0 ? 0 : 1;
}

static int decode_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    size_t cap = 1 << 16, len = 0;
    uint8_t *data = malloc(cap);
    size_t n;
    while (data && (n = fread(data + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            uint8_t *bigger = realloc(data, cap *= 2);
            if (!bigger) {
                free(data);
            }
            data = bigger;
        }
    }
    fclose(f);
    if (!data) {
        fprintf(stderr, "%s: out of memory\n", path);
        return 1;
    }
    printf("%s: %zu bytes\n", path, len);
    int frames = decode(data, len, 1 << 16, NULL, 0, 1);
    free(data);
    return frames < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        return builtin_vectors();
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
        status |= decode_file(argv[i]);
    }
    return status;
}
