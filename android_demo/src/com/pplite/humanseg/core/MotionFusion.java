package com.pplite.humanseg.core;

/**
 * Motion-compensated temporal fusion of the person probability, the same arithmetic as the Python reference
 * (converter/images/motion_fusion.py), parameters from model_spec.json's "temporal.fusion". Per frame at the model's
 * input size: coarse luminance (the integer luma of each cell's pixels, scaled to four), a whole-cell global move by
 * sums of absolute differences (integers), an affine sub-cell move and a brightness change by one least-squares
 * step (integer sums, solved in doubles), per cell the weight of the new probability from what that motion leaves
 * unexplained (raised where the new probability contradicts the moved history), and the previous fused probability
 * moved tile by tile (bilinear, float) and blended. Integers, doubles and floats where the reference has them, in
 * its order, so both agree to rounding.
 */
public final class MotionFusion {
    private static final int NC = 10;
    private final double alpha;
    private final double gate;
    private final double cut;
    private final int coarse;
    private final int search;
    private final int tile;
    private final double light;
    private final double jump;
    private final float contradict;
    private final float contradictScale;
    private int[] prevL;
    private float[] prevS;
    private int prevW = -1;
    private int prevH = -1;

    public MotionFusion(double alpha, double gate, int coarse, int search, double cut, int tile, double light,
            double jump, double contradict) {
        if (!(alpha > 0 && alpha <= 1) || !(gate > 0) || coarse < 2 || coarse % 2 != 0 || search < 1 || search > 8
                || !(cut > 0 && cut <= 1) || tile < 1 || tile > 64 || !(light > 0 && light <= 1)
                || !(jump > 0 && jump <= 1) || !(contradict > 0 && contradict < 1)) {
            throw new IllegalArgumentException("fusion: alpha in (0, 1], gate > 0, coarse even >= 2, search 1..8, "
                    + "cut in (0, 1], tile 1..64, light in (0, 1], jump in (0, 1], contradict in (0, 1)");
        }
        this.light = light;
        this.jump = jump;
        this.contradict = (float) contradict;
        this.contradictScale = (float) (1.0 / (1.0 - contradict));
        this.alpha = alpha;
        this.gate = gate;
        this.coarse = coarse;
        this.search = search;
        this.cut = cut;
        this.tile = tile;
    }

    public MotionFusion(ModelSpec spec) {
        this(spec.fusionAlpha, spec.fusionGate, spec.fusionCoarse, spec.fusionSearch, spec.fusionCut, spec.fusionTile,
                spec.fusionLight, spec.fusionJump, spec.fusionContradict);
    }

    public void reset() {
        prevL = null;
        prevS = null;
    }

    static int[] coarseLuma(int[] argb, int w, int h, int f) {
        int ch = h / f, cw = w / f, area = f * f;
        if (ch < 4 || cw < 4) {
            throw new IllegalArgumentException("a " + h + "x" + w + " frame is too small for coarse cells of " + f);
        }
        int[] out = new int[ch * cw];
        for (int cy = 0; cy < ch; cy++) {
            for (int cx = 0; cx < cw; cx++) {
                int t = 0;
                for (int a = 0; a < f; a++) {
                    for (int b = 0; b < f; b++) {
                        int p = argb[(f * cy + a) * w + (f * cx + b)];
                        t += (77 * ((p >> 16) & 0xFF) + 150 * ((p >> 8) & 0xFF) + 29 * (p & 0xFF)) >> 8;
                    }
                }
                out[cy * cw + cx] = (4 * t + area / 2) / area;
            }
        }
        return out;
    }

    private static int[] halve(int[] l, int h, int w) {
        int h2 = h / 2, w2 = w / 2;
        int[] out = new int[h2 * w2];
        for (int y = 0; y < h2; y++) {
            for (int x = 0; x < w2; x++) {
                int i = 2 * y * w + 2 * x;
                out[y * w2 + x] = l[i] + l[i + 1] + l[i + w] + l[i + w + 1];
            }
        }
        return out;
    }

    private static long sad(int[] cur, int[] prev, int h, int w, int u, int v, int m) {
        long s = 0;
        for (int y = m; y < h - m; y++) {
            for (int x = m; x < w - m; x++) {
                s += Math.abs(cur[y * w + x] - prev[(y - v) * w + (x - u)]);
            }
        }
        return s;
    }

    private static int[] best(int[] cur, int[] prev, int h, int w, int cu, int cv, int r, int m) {
        long bs = -1;
        int[] b = {cu - r, cv - r};
        for (int v = cv - r; v <= cv + r; v++) {
            for (int u = cu - r; u <= cu + r; u++) {
                long s = sad(cur, prev, h, w, u, v, m);
                if (bs < 0 || s < bs) {
                    bs = s;
                    b[0] = u;
                    b[1] = v;
                }
            }
        }
        return b;
    }

    static double[] solve(double[][] m) {
        double scale = 0;
        for (int i = 0; i < NC; i++) {
            scale = Math.max(scale, Math.abs(m[i][i]));
        }
        if (!(scale > 0.0)) {
            return null;
        }
        for (int k = 0; k < NC; k++) {
            int piv = k;
            for (int i = k + 1; i < NC; i++) {
                if (Math.abs(m[i][k]) > Math.abs(m[piv][k])) {
                    piv = i;
                }
            }
            if (!(Math.abs(m[piv][k]) > 1e-12 * scale)) {
                return null;
            }
            double[] t = m[k];
            m[k] = m[piv];
            m[piv] = t;
            for (int i = k + 1; i < NC; i++) {
                double f = m[i][k] / m[k][k];
                for (int j = k; j <= NC; j++) {
                    m[i][j] = m[i][j] - f * m[k][j];
                }
            }
        }
        double[] x = new double[NC];
        for (int k = NC - 1; k >= 0; k--) {
            double acc = m[k][NC];
            for (int j = k + 1; j < NC; j++) {
                acc = acc - m[k][j] * x[j];
            }
            x[k] = acc / m[k][k];
        }
        return x;
    }

    /** One frame: its probability and its pixels (packed ARGB), both at the model's input size (w x h). */
    public float[] step(float[] prob, int[] argb, int w, int h) {
        if (prob.length != w * h || argb.length != w * h) {
            throw new IllegalArgumentException("probability (" + prob.length + ") and frame (" + argb.length
                    + ") must both be " + w + "x" + h);
        }
        int[] lum = coarseLuma(argb, w, h, coarse);
        float[] out = prob.clone();
        if (prevS != null && prevW == w && prevH == h) {
            fuse(out, prob, lum, w, h);
        }
        prevL = lum;
        prevS = out;
        prevW = w;
        prevH = h;
        return out.clone();
    }

    private void fuse(float[] out, float[] prob, int[] c, int w, int h) {
        int f = coarse, ch = h / f, cw = w / f, r = search;
        if (Math.min(ch, cw) / 2 <= 2 * r + 1) {
            throw new IllegalArgumentException("coarse luminance " + ch + "x" + cw + " is too small for a search of "
                    + r + " cells");
        }
        int[] pv = prevL;
        int[] b2 = best(halve(c, ch, cw), halve(pv, ch, cw), ch / 2, cw / 2, 0, 0, r, r);
        int[] b = best(c, pv, ch, cw, 2 * b2[0], 2 * b2[1], 1, 2 * r + 1);
        int u = b[0], v = b[1];
        if (f * Math.abs(u) > jump * w || f * Math.abs(v) > jump * h) {
            return;  // a fast pan: the framing changed, and the model's output with it; start over
        }
        int y0 = Math.max(1, 1 + v), y1 = Math.min(ch - 1, ch - 1 + v);
        int x0 = Math.max(1, 1 + u), x1 = Math.min(cw - 1, cw - 1 + u);
        int n = (y1 > y0 && x1 > x0) ? (y1 - y0) * (x1 - x0) : 0;
        if (n < 16) {
            return;
        }
        long[][] ata = new long[NC][NC];
        long[] atb = new long[NC];
        long[] j = new long[NC];
        for (int y = y0; y < y1; y += 2) {  // the least squares use every second row, as the reference
            for (int x = x0; x < x1; x++) {
                int s = (y - v) * cw + (x - u);
                long ls = pv[s];
                long gx = (long) c[y * cw + x + 1] - c[y * cw + x - 1] + pv[s + 1] - pv[s - 1];
                long gy = (long) c[(y + 1) * cw + x] - c[(y - 1) * cw + x] + pv[s + cw] - pv[s - cw];
                long xs = x - cw / 2, ys = y - ch / 2;
                j[0] = gx;
                j[1] = gx * xs;
                j[2] = gx * ys;
                j[3] = gy;
                j[4] = gy * xs;
                j[5] = gy * ys;
                j[6] = ls;
                j[7] = ls * xs;
                j[8] = ls * ys;
                j[9] = 1;
                long it = c[y * cw + x] - ls;
                for (int a = 0; a < NC; a++) {
                    atb[a] += j[a] * it;
                    for (int bb = 0; bb < NC; bb++) {
                        ata[a][bb] += j[a] * j[bb];
                    }
                }
            }
        }
        double[][] m = new double[NC][NC + 1];
        for (int a = 0; a < NC; a++) {
            for (int bb = 0; bb < NC; bb++) {
                m[a][bb] = (double) ata[a][bb];
            }
            m[a][NC] = (double) atb[a];
        }
        double[] p = solve(m);
        boolean bad = p == null || Math.abs(4.0 * p[0]) > 1.0 || Math.abs(4.0 * p[3]) > 1.0;
        if (!bad) {
            for (double q : p) {
                bad |= Double.isNaN(q) || Double.isInfinite(q);  // Double.isFinite is API 24
            }
        }
        if (bad) {
            p = new double[NC];
        }
        float[] wcell = new float[ch * cw];
        java.util.Arrays.fill(wcell, 1.0f);
        long unexplained = 0;
        double lim = 1020.0 * gate;
        double a = alpha + (1.0 - alpha) * Math.min(1.0, Math.max(0.0, Math.abs(p[6]) - light) / light);
        for (int y = y0; y < y1; y++) {
            double ys = (double) (y - ch / 2);
            double bx = p[0] + p[2] * ys, by = p[3] + p[5] * ys, bl = p[6] + p[8] * ys;
            for (int x = x0; x < x1; x++) {
                int s = (y - v) * cw + (x - u);
                double xs = (double) (x - cw / 2);
                long ls = pv[s];
                long gx = (long) c[y * cw + x + 1] - c[y * cw + x - 1] + pv[s + 1] - pv[s - 1];
                long gy = (long) c[(y + 1) * cw + x] - c[(y - 1) * cw + x] + pv[s + cw] - pv[s - cw];
                double pred = (((double) gx * (bx + p[1] * xs) + (double) gy * (by + p[4] * xs))
                        + (double) ls * (bl + p[7] * xs)) + p[9];
                double ratio = Math.min(1.0, Math.abs((double) (c[y * cw + x] - ls) - pred) / lim);
                if (ratio >= 1.0) {
                    unexplained++;
                }
                wcell[y * cw + x] = (float) (a + (1.0 - a) * ratio);
            }
        }
        if (unexplained > cut * n) {
            return;
        }
        int[] cxi = new int[w];
        for (int x = 0; x < w; x++) {
            cxi[x] = Math.min(x / f, cw - 1);
        }
        for (int by = 0; by < h; by += tile) {
            for (int bx = 0; bx < w; bx += tile) {
                int by1 = Math.min(h, by + tile), bx1 = Math.min(w, bx + tile);
                double half = f / 2.0 - 0.5;
                double xs = ((bx + bx1 - 1) / 2.0 - half) / f - (cw / 2);
                double ys = ((by + by1 - 1) / 2.0 - half) / f - (ch / 2);
                double dx = -4.0 * (p[0] + p[1] * xs + p[2] * ys);
                double dy = -4.0 * (p[3] + p[4] * xs + p[5] * ys);
                float mx = (float) (f * (u + dx)), my = (float) (f * (v + dy));
                fuseTile(out, prob, wcell, cxi, w, h, cw, ch, by, by1, bx, bx1, mx, my);
            }
        }
    }

    private void fuseTile(float[] out, float[] prob, float[] wcell, int[] cxi, int w, int h, int cw, int ch, int by0,
            int by1, int bx0, int bx1, float mx, float my) {
        float ndx = -mx, ndy = -my;
        int ix = (int) Math.floor(ndx), iy = (int) Math.floor(ndy);
        float fx = ndx - (float) ix, fy = ndy - (float) iy;
        float w00 = (1.0f - fy) * (1.0f - fx), w01 = (1.0f - fy) * fx, w10 = fy * (1.0f - fx), w11 = fy * fx;
        int y0 = Math.max(by0, -iy), y1 = Math.min(by1, h - 1 - iy);
        int x0 = Math.max(bx0, -ix), x1 = Math.min(bx1, w - 1 - ix);
        for (int y = y0; y < y1; y++) {
            int s0 = (y + iy) * w + ix, s1 = s0 + w;
            int wr = Math.min(y / coarse, ch - 1) * cw;
            for (int x = x0; x < x1; x++) {
                float t = w00 * prevS[s0 + x] + w01 * prevS[s0 + x + 1] + w10 * prevS[s1 + x] + w11 * prevS[s1 + x + 1];
                float d = prob[y * w + x] - t;
                float k = Math.min((Math.abs(d) - contradict) * contradictScale, 1.0f);
                float ww = Math.max(wcell[wr + cxi[x]], k);
                out[y * w + x] = t + ww * d;
            }
        }
    }
}
