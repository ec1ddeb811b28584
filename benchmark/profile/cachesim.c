/* cachesim: QEMU TCG plugin (plugin API 1, QEMU 4.2 .. 8.x) for pp-lite-toolkit's memory-aware cost model.
 * It counts guest instructions like insncount and simulates the data side of one core's cache hierarchy on every
 * guest load and store: up to three levels (L1D, L2, L3), each set-associative with LRU replacement, a miss at one
 * level looking up the next (non-inclusive). With pf=STREAMS:DEGREE, a stride prefetcher of the kind the cores'
 * manuals describe watches the L1D misses: a run of misses at one stride of at most 4 lines (either way) trains a
 * stream, and each further miss in it fills the next DEGREE lines of the stream into every level, so the demand
 * misses are those it does not hide; "dram_lines" counts every line read from memory, demand and prefetched. Like insnprofile it can split the counts at markers
 * (file offsets of function entries in one shared library), so misses are attributed to the ops that cause them.
 * Arguments: l1=SIZE_KB:WAYS:LINE l2=... l3=... [pf=STREAMS:DEGREE] [markers=FILE lib=NAME] (QEMU splits plugin arguments at commas). At exit it prints
 * "seg <marker hex|-> <insns> <accesses> <l1 misses> <l2 misses> <l3 misses>" per segment and the totals
 * "insns: N", "accesses: N", "l1_misses: N", "l2_misses: N", "l3_misses: N" and "dram_lines: N". One guest
 * thread. */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_markers.h"

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                                          void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_vcpu_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_vcpu_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
unsigned int qemu_plugin_mem_size_shift(qemu_plugin_meminfo_t info);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *insn);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define LEVELS 3
typedef struct {
    bool on;
    unsigned line_shift, sets, ways;
    uint64_t *tags;   /* sets * ways; tag 0 = empty (tags are line address + 1) */
    uint64_t *age;    /* last use, for LRU */
    uint8_t *fetched; /* 1 while a line the prefetcher brought in has not been used */
    uint64_t misses;
} cache_t;
typedef struct { uint64_t n; int64_t marker; } block_t;
typedef struct { int64_t marker; uint64_t insns, accesses, misses[LEVELS]; } seg_t;

#define MAX_STREAMS 64
typedef struct { uint64_t last_line, used; int64_t stride; unsigned confidence; } stream_t;

static cache_t caches[LEVELS];
static uint64_t clock_, total, accesses, dram_lines;
static stream_t streams[MAX_STREAMS];
static unsigned n_streams, pf_degree;
static seg_t cur = {-1, 0, 0, {0, 0, 0}};
static seg_t *segs;
static size_t n_segs, cap_segs;

static int log2u(uint64_t v) {
    int s = 0;
    while ((1ULL << s) < v) s++;
    return (1ULL << s) == v ? s : -1;
}

static int cache_init(cache_t *c, const char *spec) {
    unsigned kb, ways, line;
    if (sscanf(spec, "%u:%u:%u", &kb, &ways, &line) != 3 || !kb || !ways || log2u(line) < 0) return -1;
    uint64_t lines = (uint64_t)kb * 1024 / line;
    if (lines % ways) return -1;
    c->on = true;
    c->line_shift = (unsigned)log2u(line);
    c->sets = (unsigned)(lines / ways);
    c->ways = ways;
    c->tags = calloc(lines, sizeof(uint64_t));
    c->age = calloc(lines, sizeof(uint64_t));
    c->fetched = calloc(lines, 1);
    return c->tags && c->age && c->fetched ? 0 : -1;
}

/* 1 on a hit, 2 on the first hit of a line the prefetcher brought in, 0 on a miss: the line is then filled over the
 * least recently used way (a demand miss, or with PREFETCH a fill that is not counted as one) */
static int cache_access(cache_t *c, uint64_t addr, bool prefetch) {
    uint64_t line = addr >> c->line_shift;
    size_t base = (line % c->sets) * c->ways;
    uint64_t *tags = c->tags + base, *age = c->age + base;
    uint8_t *fetched = c->fetched + base;
    unsigned victim = 0;
    for (unsigned w = 0; w < c->ways; w++) {
        if (tags[w] == line + 1) {
            if (prefetch) return 1;
            age[w] = clock_;
            int first = fetched[w] ? 2 : 1;
            fetched[w] = 0;
            return first;
        }
        if (age[w] < age[victim]) victim = w;
    }
    tags[victim] = line + 1;
    age[victim] = clock_;
    fetched[victim] = prefetch;
    if (!prefetch) c->misses++;
    return 0;
}

static bool last_level(int l) { return l == LEVELS - 1 || !caches[l + 1].on; }

static void prefetch_line(uint64_t addr) {
    for (int l = 0; l < LEVELS && caches[l].on; l++) {
        if (cache_access(&caches[l], addr, true)) return;
        if (last_level(l)) dram_lines++;
    }
}

/* LINE missed in the L1D, or was its prefetched line's first use: continue the stream it belongs to (and fill the
 * next pf_degree lines of it), train a stream it is within 4 lines of, or start one over the least recently used */
static void train(uint64_t line) {
    unsigned lru = 0;
    for (unsigned i = 0; i < n_streams; i++) {
        stream_t *s = &streams[i];
        if (s->stride != 0 && s->last_line + (uint64_t)s->stride == line) {
            s->last_line = line;
            s->used = clock_;
            if (++s->confidence >= 2)
                for (unsigned k = 1; k <= pf_degree; k++)
                    prefetch_line((line + (uint64_t)s->stride * k) << caches[0].line_shift);
            return;
        }
        int64_t d = (int64_t)(line - s->last_line);
        if (s->used && d != 0 && d >= -4 && d <= 4) {
            *s = (stream_t){line, clock_, d, 1};
            return;
        }
        if (s->used < streams[lru].used) lru = i;
    }
    if (n_streams) streams[lru] = (stream_t){line, clock_, 0, 0};
}

static void mem_access(uint64_t addr) {
    clock_++;
    accesses++;
    cur.accesses++;
    int l1 = cache_access(&caches[0], addr, false);
    if (l1 == 1) return;
    if (l1 == 0) {
        cur.misses[0]++;
        if (last_level(0)) dram_lines++;
        for (int l = 1; l < LEVELS && caches[l].on; l++) {
            if (cache_access(&caches[l], addr, false)) break;
            cur.misses[l]++;
            if (last_level(l)) dram_lines++;
        }
    }
    train(addr >> caches[0].line_shift);
}

static void mem_cb(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *udata) {
    unsigned size = 1u << qemu_plugin_mem_size_shift(info);
    uint64_t first = vaddr >> caches[0].line_shift, last = (vaddr + size - 1) >> caches[0].line_shift;
    mem_access(vaddr);
    if (last != first) mem_access(last << caches[0].line_shift); /* an access that straddles two lines */
}

static void add_seg(void) {
    if (n_segs == cap_segs) {
        cap_segs = cap_segs ? 2 * cap_segs : 4096;
        segs = realloc(segs, cap_segs * sizeof(seg_t));
        if (!segs) abort();
    }
    segs[n_segs++] = cur;
}

static void tb_exec(unsigned int vcpu_index, void *udata) {
    const block_t *b = udata;
    if (b->marker >= 0 && n_markers > 0) {
        add_seg();
        cur = (seg_t){b->marker, 0, 0, {0, 0, 0}};
    }
    cur.insns += b->n;
    total += b->n;
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    block_t *b = malloc(sizeof *b);
    if (!b) abort();
    b->n = qemu_plugin_tb_n_insns(tb);
    b->marker = -1;
    if (b->n > 0 && n_markers > 0) b->marker = marker_at((uintptr_t)qemu_plugin_insn_haddr(qemu_plugin_tb_get_insn(tb, 0)));
    qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS, b);
    for (size_t i = 0; i < b->n; i++)
        qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i), mem_cb, QEMU_PLUGIN_CB_NO_REGS,
                                         QEMU_PLUGIN_MEM_RW, NULL);
}

static void at_exit(qemu_plugin_id_t id, void *p) {
    char buf[192];
    add_seg();
    if (n_markers > 0) {
        for (size_t i = 0; i < n_segs; i++) {
            const seg_t *s = &segs[i];
            char m[24] = "-";
            if (s->marker >= 0) snprintf(m, sizeof m, "%" PRIx64, (uint64_t)s->marker);
            snprintf(buf, sizeof buf, "seg %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", m,
                     s->insns, s->accesses, s->misses[0], s->misses[1], s->misses[2]);
            qemu_plugin_outs(buf);
        }
    }
    snprintf(buf, sizeof buf, "insns: %" PRIu64 "\naccesses: %" PRIu64 "\nl1_misses: %" PRIu64 "\nl2_misses: %" PRIu64
             "\nl3_misses: %" PRIu64 "\ndram_lines: %" PRIu64 "\n", total, accesses, caches[0].misses, caches[1].misses,
             caches[2].misses, dram_lines);
    qemu_plugin_outs(buf);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "l1=", 3) == 0 || strncmp(a, "l2=", 3) == 0 || strncmp(a, "l3=", 3) == 0) {
            if (cache_init(&caches[a[1] - '1'], a + 3) != 0) return -1;
        } else if (strncmp(a, "pf=", 3) == 0) {
            if (sscanf(a + 3, "%u:%u", &n_streams, &pf_degree) != 2 || n_streams > MAX_STREAMS || !pf_degree)
                return -1;
        } else if (strncmp(a, "markers=", 8) == 0) {
            if (load_markers(a + 8) != 0) return -1;
        } else if (strncmp(a, "lib=", 4) == 0) {
            snprintf(lib_name, sizeof lib_name, "%s", a + 4);
        } else {
            return -1;
        }
    }
    if (!caches[0].on) return -1; /* at least an L1D */
    for (int l = 1; l < LEVELS; l++)
        if (caches[l].on && !caches[l - 1].on) return -1;
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
