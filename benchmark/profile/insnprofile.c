/* insnprofile: QEMU TCG plugin (plugin API 1, QEMU 4.2 .. 8.x) for pp-lite-toolkit's ARM cost profile.
 * It counts guest instructions like insncount and also splits them at "markers": file offsets of function
 * entries in one shared library (given by basename). Each time a translated block starting at a marker runs,
 * the instructions counted since the previous marker are closed as one segment. At exit it prints
 * "seg <marker offset hex> <insns>" per segment (in execution order, the first segment's marker is "-")
 * and "insns: <total>". Built for one guest thread (the profile runs with --threads=1). */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_markers.h"

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

typedef struct { uint64_t n; int64_t marker; } block_t; /* marker: file offset, or -1 */
typedef struct { int64_t marker; uint64_t insns; } seg_t;

static uint64_t total, since_marker;
static int64_t current = -1;
static seg_t *segs;
static size_t n_segs, cap_segs;

static void add_seg(int64_t marker, uint64_t insns) {
    if (n_segs == cap_segs) {
        cap_segs = cap_segs ? 2 * cap_segs : 4096;
        segs = realloc(segs, cap_segs * sizeof(seg_t));
        if (!segs) abort();
    }
    segs[n_segs].marker = marker;
    segs[n_segs].insns = insns;
    n_segs++;
}

static void tb_exec(unsigned int vcpu_index, void *udata) {
    const block_t *b = udata;
    if (b->marker >= 0) {
        add_seg(current, since_marker);
        current = b->marker;
        since_marker = 0;
    }
    since_marker += b->n;
    total += b->n;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    block_t *b = malloc(sizeof *b);
    if (!b) abort();
    b->n = qemu_plugin_tb_n_insns(tb);
    b->marker = -1;
    if (b->n > 0 && n_markers > 0) b->marker = marker_at((uintptr_t)qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0)));
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void at_exit(qemu_plugin_id_t id, void *p) {
    char buf[96];
    add_seg(current, since_marker);
    for (size_t i = 0; i < n_segs; i++) {
        if (segs[i].marker < 0) snprintf(buf, sizeof buf, "seg - %" PRIu64 "\n", segs[i].insns);
        else snprintf(buf, sizeof buf, "seg %" PRIx64 " %" PRIu64 "\n", (uint64_t)segs[i].marker, segs[i].insns);
        qemu_plugin_outs(buf);
    }
    snprintf(buf, sizeof buf, "insns: %" PRIu64 "\n", total);
    qemu_plugin_outs(buf);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "markers=", 8) == 0) {
            if (load_markers(argv[i] + 8) != 0) return -1;
        } else if (strncmp(argv[i], "lib=", 4) == 0) {
            snprintf(lib_name, sizeof lib_name, "%s", argv[i] + 4);
        } else {
            return -1;
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
