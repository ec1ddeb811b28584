/* The temporal smoothing step of converter/images/temporal.py and the demo's core/TemporalSmoother.java, in C,
 * built for aarch64 (benchmark/parity/smoothing_arm.py) so that its cost can be counted in guest instructions on the
 * ARM emulated phone, where the Java step itself cannot run. Same float32 operations in the same order; built with
 * -ffp-contract=off, as Java never fuses a multiply and an add, so the results match the Python reference bit for bit.
 *
 *   smoothing_step H W STEPS ALPHA GATE IN OUT
 *
 * IN holds two frames, each H*W*3 RGB bytes then H*W float32 person probabilities (model resolution). The program
 * reads them, runs STEPS steps cycling through the two frames (luminance of the frame, then the gated EMA) and writes
 * the last step's smoothed probabilities (H*W float32) to OUT. Reading and writing cost the same for any STEPS, so the
 * difference between two STEPS counts is the steps alone. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void luminance(const unsigned char *rgb, float *y, long n) {
    for (long i = 0; i < n; i++) {
        float r = rgb[3 * i], g = rgb[3 * i + 1], b = rgb[3 * i + 2];
        y[i] = 0.299f * r + 0.587f * g + 0.114f * b;
    }
}

static void blend(const float *prob, const float *y, const float *prev_y, const float *prev_s, float *out, long n,
                  float alpha, float gate) {
    for (long i = 0; i < n; i++) {
        float change = fabsf(y[i] - prev_y[i]) / 255.0f;
        float w = alpha + (1.0f - alpha) * fminf(1.0f, change / gate);
        out[i] = w * prob[i] + (1.0f - w) * prev_s[i];
    }
}

int main(int argc, char **argv) {
    if (argc != 8) {
        fprintf(stderr, "usage: %s H W STEPS ALPHA GATE IN OUT\n", argv[0]);
        return 2;
    }
    long h = atol(argv[1]), w = atol(argv[2]), steps = atol(argv[3]);
    float alpha = strtof(argv[4], NULL), gate = strtof(argv[5], NULL);
    long n = h * w;
    if (n <= 0 || steps < 1 || !(alpha > 0.0f && alpha <= 1.0f) || !(gate > 0.0f)) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    unsigned char *rgb = malloc(2 * 3 * n);
    float *prob = malloc(2 * n * sizeof(float));
    float *y = malloc(2 * n * sizeof(float)), *s = malloc(2 * n * sizeof(float));
    FILE *in = fopen(argv[6], "rb");
    if (!rgb || !prob || !y || !s || !in) {
        fprintf(stderr, "cannot open %s\n", argv[6]);
        return 1;
    }
    for (int f = 0; f < 2; f++) {
        if (fread(rgb + 3 * n * f, 1, 3 * n, in) != (size_t)(3 * n) ||
            fread(prob + n * f, sizeof(float), n, in) != (size_t)n) {
            fprintf(stderr, "%s: short read (want 2 frames of %ldx%ld)\n", argv[6], h, w);
            return 1;
        }
    }
    fclose(in);
    /* step 0: the first frame passes through (s_0 = prob_0); each later step blends into the other buffer */
    luminance(rgb, y, n);
    memcpy(s, prob, n * sizeof(float));
    int cur = 0;
    for (long t = 1; t < steps; t++) {
        int f = t % 2, nxt = 1 - cur;
        luminance(rgb + 3 * n * f, y + n * nxt, n);
        blend(prob + n * f, y + n * nxt, y + n * cur, s + n * cur, s + n * nxt, n, alpha, gate);
        cur = nxt;
    }
    FILE *out = fopen(argv[7], "wb");
    if (!out || fwrite(s + n * cur, sizeof(float), n, out) != (size_t)n) {
        fprintf(stderr, "cannot write %s\n", argv[7]);
        return 1;
    }
    fclose(out);
    return 0;
}
