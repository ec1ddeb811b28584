/* Shared by the toolkit's QEMU plugins (insnprofile.c, cachesim.c): the markers (file offsets of function entries in
 * one shared library, loaded from a file of hex numbers) and the lookup of a host address in the guest's mappings.
 * Static functions and state: each plugin is one translation unit that includes this file. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { uintptr_t start, end, file_off; bool in_lib; } map_t;

static uint64_t *markers;
static size_t n_markers;
static char lib_name[256];
static map_t *maps;
static size_t n_maps;

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

/* the marker at a translated block's first instruction (its host address), or -1 */
static int64_t marker_at(uintptr_t h) {
    const map_t *m = find_map(h);
    if (!m || !m->in_lib) return -1;
    uint64_t off = h - m->start + m->file_off;
    return bsearch(&off, markers, n_markers, sizeof(uint64_t), cmp_u64) ? (int64_t)off : -1;
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
