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
typedef struct { uintptr_t start, end, file_off; bool in_lib; } map_t;

static uint64_t total, since_marker;
static int64_t current = -1;
static seg_t *segs;
static size_t n_segs, cap_segs;
static uint64_t *markers;
static size_t n_markers;
static char lib_name[256];
static map_t *maps;
static size_t n_maps;

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

static void read_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    n_maps = 0;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        uintptr_t s, e, off;
        char perms[8], path[3000] = "";
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %" SCNxPTR " %*s %*s %2999s", &s, &e, perms, &off, path) < 4) continue;
        maps = realloc(maps, (n_maps + 1) * sizeof(map_t));
        if (!maps) abort();
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        maps[n_maps++] = (map_t){s, e, off, strcmp(base, lib_name) == 0};
    }
    fclose(f);
}

static const map_t *find_map(uintptr_t h) {
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n_maps; i++)
            if (h >= maps[i].start && h < maps[i].end) return &maps[i];
        read_maps();
    }
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    block_t *b = malloc(sizeof *b);
    if (!b) abort();
    b->n = qemu_plugin_tb_n_insns(tb);
    b->marker = -1;
    if (b->n > 0 && n_markers > 0) {
        uintptr_t h = (uintptr_t)qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0));
        const map_t *m = find_map(h);
        if (m && m->in_lib) {
            uint64_t off = h - m->start + m->file_off;
            if (bsearch(&off, markers, n_markers, sizeof(uint64_t), cmp_u64)) b->marker = (int64_t)off;
        }
    }
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

static int load_markers(const char *path) {
    FILE *f = fopen(path, "r");
    uint64_t v;
    size_t cap = 0;
    if (!f) return -1;
    while (fscanf(f, "%" SCNx64, &v) == 1) {
        if (n_markers == cap) {
            cap = cap ? 2 * cap : 1024;
            markers = realloc(markers, cap * sizeof(uint64_t));
            if (!markers) abort();
        }
        markers[n_markers++] = v;
    }
    fclose(f);
    qsort(markers, n_markers, sizeof(uint64_t), cmp_u64);
    return 0;
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
