/* The motion-compensated fusion step of converter/images/motion_fusion.py and the demo's core/MotionFusion.java, in
 * C, built for aarch64 (benchmark/parity/smoothing_arm.py) so that its cost can be counted in guest instructions on
 * the ARM emulated phone. Integers where the reference uses integers, doubles where it uses doubles, float32 where it
 * uses float32, in the same order; -ffp-contract=off, as Java never fuses a multiply and an add.
 *
 *   motion_fusion_step H W STEPS ALPHA GATE COARSE SEARCH CUT TILE LIGHT JUMP CONTRADICT IN OUT
 *
 * IN holds two frames, each H*W*3 RGB bytes then H*W float32 person probabilities (model resolution). STEPS steps
 * cycle through the two frames; OUT gets the last step's fused probabilities (H*W float32). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NC 10

typedef struct {
    double alpha, gate, cut, light, jump, contradict;
    int coarse, search, tile;
} Params;

/* per cell the sum of the integer luma of its f x f pixels, scaled to 4 pixels: (4 sum + f*f/2) / (f*f); rows are
 * summed column by column first (a loop the compiler vectorizes), then each cell's f columns */
static void coarse_luma(const unsigned char *rgb, int h, int w, int f, int32_t *out, int ch, int cw, int32_t *acc) {
    (void)h;
    for (int cy = 0; cy < ch; cy++) {
        for (int x = 0; x < cw * f; x++) acc[x] = 0;
        for (int a = 0; a < f; a++) {
            const unsigned char *p = rgb + 3 * (long)(f * cy + a) * w;
            for (int x = 0; x < cw * f; x++) acc[x] += (77 * p[3 * x] + 150 * p[3 * x + 1] + 29 * p[3 * x + 2]) >> 8;
        }
        for (int cx = 0; cx < cw; cx++) {
            int32_t t = 0;
            for (int b = 0; b < f; b++) t += acc[cx * f + b];
            out[cy * cw + cx] = (4 * t + f * f / 2) / (f * f);
        }
    }
}

static void halve(const int32_t *l, int h, int w, int32_t *out) {
    int h2 = h / 2, w2 = w / 2;
    for (int y = 0; y < h2; y++)
        for (int x = 0; x < w2; x++) {
            const int32_t *p = l + 2 * y * w + 2 * x;
            out[y * w2 + x] = p[0] + p[1] + p[w] + p[w + 1];
        }
}

static int64_t sad(const int32_t *cur, const int32_t *prev, int h, int w, int u, int v, int m) {
    int64_t s = 0;
    for (int y = m; y < h - m; y++)
        for (int x = m; x < w - m; x++) {
            int32_t d = cur[y * w + x] - prev[(y - v) * w + (x - u)];
            s += d < 0 ? -d : d;
        }
    return s;
}

static void best(const int32_t *cur, const int32_t *prev, int h, int w, int cu, int cv, int r, int m, int *bu,
                 int *bv) {
    int64_t bs = -1;
    for (int v = cv - r; v <= cv + r; v++)
        for (int u = cu - r; u <= cu + r; u++) {
            int64_t s = sad(cur, prev, h, w, u, v, m);
            if (bs < 0 || s < bs) {
                bs = s;
                *bu = u;
                *bv = v;
            }
        }
}

static int solve(double a[NC][NC + 1], double *x) {
    double scale = 0;
    for (int i = 0; i < NC; i++)
        if (fabs(a[i][i]) > scale) scale = fabs(a[i][i]);
    if (!(scale > 0.0)) return 0;
    for (int k = 0; k < NC; k++) {
        int piv = k;
        for (int i = k + 1; i < NC; i++)
            if (fabs(a[i][k]) > fabs(a[piv][k])) piv = i;
        if (!(fabs(a[piv][k]) > 1e-12 * scale)) return 0;
        if (piv != k)
            for (int j = 0; j <= NC; j++) {
                double t = a[k][j];
                a[k][j] = a[piv][j];
                a[piv][j] = t;
            }
        for (int i = k + 1; i < NC; i++) {
            double f = a[i][k] / a[k][k];
            for (int j = k; j <= NC; j++) a[i][j] = a[i][j] - f * a[k][j];
        }
    }
    for (int k = NC - 1; k >= 0; k--) {
        double acc = a[k][NC];
        for (int j = k + 1; j < NC; j++) acc = acc - a[k][j] * x[j];
        x[k] = acc / a[k][k];
    }
    return 1;
}

typedef struct {
    int h, w, ch, cw;
    int32_t *prev_l, *cur_l, *half_c, *half_p;
    float *prev_s, *wcell, *wrows;
    int32_t *acc;
    int started;
} State;

static void tile_shift(const double *p, int u, int v, double xm, double ym, int f, int ch, int cw, float *mx,
                       float *my) {
    double half = f / 2.0 - 0.5;
    double xs = (xm - half) / f - (cw / 2);
    double ys = (ym - half) / f - (ch / 2);
    double dx = -4.0 * (p[0] + p[1] * xs + p[2] * ys);
    double dy = -4.0 * (p[3] + p[4] * xs + p[5] * ys);
    *mx = (float)(f * (u + dx));
    *my = (float)(f * (v + dy));
}

/* c, cs: the contradiction threshold and 1 / (1 - c), float32 */
static void fuse_row(float *restrict o, const float *restrict p, const float *restrict s0, const float *restrict s1,
                     const float *restrict ww, int n, float w00, float w01, float w10, float w11, float c, float cs) {
    for (int x = 0; x < n; x++) {
        float t = w00 * s0[x] + w01 * s0[x + 1] + w10 * s1[x] + w11 * s1[x + 1];
        float d = p[x] - t;
        float w = fmaxf(ww[x], fminf((fabsf(d) - c) * cs, 1.0f));
        o[x] = t + w * d;
    }
}

/* wrow: per pixel of the image row band the weight of its cell (expanded once per row of cells) */
static void fuse_tile(float *out, const float *prev, const float *prob, const float *wrows, int h, int w, int by0,
                      int by1, int bx0, int bx1, float mx, float my, float c, float cs) {
    float ndx = -mx, ndy = -my;
    int ix = (int)floorf(ndx), iy = (int)floorf(ndy);
    float fx = ndx - (float)ix, fy = ndy - (float)iy;
    float w00 = (1.0f - fy) * (1.0f - fx), w01 = (1.0f - fy) * fx, w10 = fy * (1.0f - fx), w11 = fy * fx;
    int y0 = by0 > -iy ? by0 : -iy, y1 = by1 < h - 1 - iy ? by1 : h - 1 - iy;
    int x0 = bx0 > -ix ? bx0 : -ix, x1 = bx1 < w - 1 - ix ? bx1 : w - 1 - ix;
    if (x1 <= x0) return;
    for (int y = y0; y < y1; y++) {
        const float *s0 = prev + (long)(y + iy) * w + ix, *s1 = s0 + w;
        fuse_row(out + (long)y * w + x0, prob + (long)y * w + x0, s0 + x0, s1 + x0, wrows + (long)(y - by0) * w + x0,
                 x1 - x0, w00, w01, w10, w11, c, cs);
    }
}

static void step(State *st, const Params *pr, const unsigned char *rgb, const float *prob, float *out, const int *cxi) {
    int h = st->h, w = st->w, ch = st->ch, cw = st->cw, f = pr->coarse;
    coarse_luma(rgb, h, w, f, st->cur_l, ch, cw, st->acc);
    memcpy(out, prob, sizeof(float) * h * w);
    if (st->started) {
        int u2 = 0, v2 = 0, u = 0, v = 0, r = pr->search;
        halve(st->cur_l, ch, cw, st->half_c);
        halve(st->prev_l, ch, cw, st->half_p);
        best(st->half_c, st->half_p, ch / 2, cw / 2, 0, 0, r, r, &u2, &v2);
        best(st->cur_l, st->prev_l, ch, cw, 2 * u2, 2 * v2, 1, 2 * r + 1, &u, &v);
        int pan = f * abs(u) > pr->jump * w || f * abs(v) > pr->jump * h; /* a fast pan: start over */
        int y0 = 1 + v > 1 ? 1 + v : 1, y1 = ch - 1 + v < ch - 1 ? ch - 1 + v : ch - 1;
        int x0 = 1 + u > 1 ? 1 + u : 1, x1 = cw - 1 + u < cw - 1 ? cw - 1 + u : cw - 1;
        long n = (y1 > y0 && x1 > x0) ? (long)(y1 - y0) * (x1 - x0) : 0;
        if (n >= 16 && !pan) {
            const int32_t *c = st->cur_l, *pv = st->prev_l;
            /* the normal equations from integer sums; any order gives the same integers, so rows are summed with
             * the powers of X and multiplied by those of Y at the row's end (a quarter of the products) */
            int64_t ata[NC][NC] = {{0}}, atb[NC] = {0};
            for (int y = y0; y < y1; y += 2) { /* every second row, as the reference */
                int64_t q[10][3] = {{0}}, r[4][2] = {{0}};
                int64_t ys = y - ch / 2;
                for (int x = x0; x < x1; x++) {
                    int s = (y - v) * cw + (x - u);
                    int64_t ls = pv[s];
                    int64_t gx = (int64_t)c[y * cw + x + 1] - c[y * cw + x - 1] + pv[s + 1] - pv[s - 1];
                    int64_t gy = (int64_t)c[(y + 1) * cw + x] - c[(y - 1) * cw + x] + pv[s + cw] - pv[s - cw];
                    int64_t it = (int64_t)c[y * cw + x] - ls, xs = x - cw / 2, x2 = xs * xs;
                    int64_t g[4] = {gx, gy, ls, 1};
                    int k = 0;
                    for (int a = 0; a < 4; a++)
                        for (int b = a; b < 4; b++, k++) {
                            int64_t pr = g[a] * g[b];
                            q[k][0] += pr;
                            q[k][1] += pr * xs;
                            q[k][2] += pr * x2;
                        }
                    for (int a = 0; a < 4; a++) {
                        r[a][0] += g[a] * it;
                        r[a][1] += g[a] * it * xs;
                    }
                }
                /* column i = (base a, power m): m 0 -> 1, 1 -> X, 2 -> Y; the constant column is (3, 0) */
                static const int base[NC] = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3}, pw[NC] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0};
                for (int i = 0; i < NC; i++) {
                    for (int j = 0; j < NC; j++) {
                        int a = base[i] < base[j] ? base[i] : base[j], b = base[i] < base[j] ? base[j] : base[i];
                        int k = a * 4 - a * (a - 1) / 2 + (b - a);
                        int nx = (pw[i] == 1) + (pw[j] == 1), ny = (pw[i] == 2) + (pw[j] == 2);
                        int64_t yp = ny == 0 ? 1 : ny == 1 ? ys : ys * ys;
                        ata[i][j] += q[k][nx] * yp;
                    }
                    int64_t yp = pw[i] == 2 ? ys : 1;
                    atb[i] += r[base[i]][pw[i] == 1] * yp;
                }
            }
            double m[NC][NC + 1], p[NC] = {0};
            for (int a = 0; a < NC; a++) {
                for (int b = 0; b < NC; b++) m[a][b] = (double)ata[a][b];
                m[a][NC] = (double)atb[a];
            }
            if (!solve(m, p) || fabs(4.0 * p[0]) > 1.0 || fabs(4.0 * p[3]) > 1.0) memset(p, 0, sizeof p);
            for (int a = 0; a < NC; a++)
                if (!isfinite(p[a])) memset(p, 0, sizeof p);
            long unexplained = 0;
            for (long i = 0; i < (long)ch * cw; i++) st->wcell[i] = 1.0f;
            double lim = 1020.0 * pr->gate;
            double over = fabs(p[6]) - pr->light, a = pr->alpha;
            a = a + (1.0 - a) * fmin(1.0, fmax(0.0, over) / pr->light);
            for (int y = y0; y < y1; y++) {
                double ys = (double)(y - ch / 2);
                double bx = p[0] + p[2] * ys, by = p[3] + p[5] * ys, bl = p[6] + p[8] * ys;
                for (int x = x0; x < x1; x++) {
                    int s = (y - v) * cw + (x - u);
                    double xs = (double)(x - cw / 2);
                    int64_t ls = pv[s];
                    int64_t gx = (int64_t)c[y * cw + x + 1] - c[y * cw + x - 1] + pv[s + 1] - pv[s - 1];
                    int64_t gy = (int64_t)c[(y + 1) * cw + x] - c[(y - 1) * cw + x] + pv[s + cw] - pv[s - cw];
                    double pred = (((double)gx * (bx + p[1] * xs) + (double)gy * (by + p[4] * xs)) +
                                   (double)ls * (bl + p[7] * xs)) + p[9];
                    double ratio = fabs((double)((int64_t)c[y * cw + x] - ls) - pred) / lim;
                    if (ratio > 1.0) ratio = 1.0;
                    if (ratio >= 1.0) unexplained++;
                    st->wcell[y * cw + x] = (float)(a + (1.0 - a) * ratio);
                }
            }
            if (!(unexplained > pr->cut * n)) {
                int t = pr->tile;
                float thr = (float)pr->contradict, thr_scale = (float)(1.0 / (1.0 - pr->contradict));
                for (int by = 0; by < h; by += t) {
                    int by1 = by + t < h ? by + t : h;
                    for (int y = by; y < by1; y++) { /* the band's weights per pixel: one cell row expanded once */
                        int cy = y / f < ch - 1 ? y / f : ch - 1;
                        float *row = st->wrows + (long)(y - by) * w;
                        if (y > by && (y - 1) / f == y / f) {
                            memcpy(row, row - w, sizeof(float) * w);
                            continue;
                        }
                        const float *wc = st->wcell + cy * cw;
                        for (int cx = 0; cx < cw; cx++)
                            for (int k = 0; k < f; k++) row[cx * f + k] = wc[cx];
                        for (int x = cw * f; x < w; x++) row[x] = wc[cw - 1];
                    }
                    for (int bx = 0; bx < w; bx += t) {
                        int bx1 = bx + t < w ? bx + t : w;
                        float mx, my;
                        tile_shift(p, u, v, (bx + bx1 - 1) / 2.0, (by + by1 - 1) / 2.0, f, ch, cw, &mx, &my);
                        fuse_tile(out, st->prev_s, prob, st->wrows, h, w, by, by1, bx, bx1, mx, my, thr, thr_scale);
                    }
                }
            }
        }
    }
    memcpy(st->prev_l, st->cur_l, sizeof(int32_t) * ch * cw);
    st->started = 1;
}

int main(int argc, char **argv) {
    if (argc != 15) {
        fprintf(stderr, "usage: %s H W STEPS ALPHA GATE COARSE SEARCH CUT TILE LIGHT JUMP CONTRADICT IN OUT\n",
                argv[0]);
        return 2;
    }
    int h = atoi(argv[1]), w = atoi(argv[2]);
    long steps = atol(argv[3]);
    Params pr = {strtod(argv[4], NULL), strtod(argv[5], NULL), strtod(argv[8], NULL), strtod(argv[10], NULL),
                 strtod(argv[11], NULL), strtod(argv[12], NULL), atoi(argv[6]), atoi(argv[7]), atoi(argv[9])};
    if (h <= 0 || w <= 0 || steps < 1 || pr.coarse < 2 || pr.tile < 1 || !(pr.light > 0.0) || !(pr.jump > 0.0) ||
        !(pr.contradict > 0.0 && pr.contradict < 1.0) ||
        h / pr.coarse < 4 || w / pr.coarse < 4) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    long n = (long)h * w;
    State st = {h, w, h / pr.coarse, w / pr.coarse, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    long cells = (long)st.ch * st.cw;
    st.prev_l = malloc(sizeof(int32_t) * cells);
    st.cur_l = malloc(sizeof(int32_t) * cells);
    st.half_c = malloc(sizeof(int32_t) * cells);
    st.half_p = malloc(sizeof(int32_t) * cells);
    st.prev_s = malloc(sizeof(float) * n);
    st.wcell = malloc(sizeof(float) * cells);
    st.wrows = malloc(sizeof(float) * (long)pr.tile * w);
    st.acc = malloc(sizeof(int32_t) * w);
    int *cxi = malloc(sizeof(int) * w);
    for (int x = 0; x < w; x++) cxi[x] = x / pr.coarse < st.cw - 1 ? x / pr.coarse : st.cw - 1;
    unsigned char *rgb = malloc(2 * 3 * n);
    float *prob = malloc(2 * n * sizeof(float)), *out = malloc(n * sizeof(float));
    FILE *in = fopen(argv[13], "rb");
    if (!rgb || !prob || !out || !in) {
        fprintf(stderr, "cannot open %s\n", argv[13]);
        return 1;
    }
    for (int fr = 0; fr < 2; fr++)
        if (fread(rgb + 3 * n * fr, 1, 3 * n, in) != (size_t)(3 * n) ||
            fread(prob + n * fr, sizeof(float), n, in) != (size_t)n) {
            fprintf(stderr, "%s: short read (want 2 frames of %dx%d)\n", argv[13], h, w);
            return 1;
        }
    fclose(in);
    for (long t = 0; t < steps; t++) {
        step(&st, &pr, rgb + 3 * n * (t % 2), prob + n * (t % 2), out, cxi);
        float *kept = st.prev_s; /* the fused map becomes the state without a copy */
        st.prev_s = out;
        out = kept;
    }
    FILE *o = fopen(argv[14], "wb");
    if (!o || fwrite(st.prev_s, sizeof(float), n, o) != (size_t)n) {
        fprintf(stderr, "cannot write %s\n", argv[14]);
        return 1;
    }
    fclose(o);
    return 0;
}
