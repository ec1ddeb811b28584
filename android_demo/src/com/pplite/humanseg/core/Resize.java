package com.pplite.humanseg.core;

/**
 * Resizing with OpenCV's conventions (cv2.resize), so the app sees what the Python reference sees: bilinear with
 * half-pixel centres and edge clamping (INTER_LINEAR), and nearest (INTER_NEAREST, floor of dst * scale).
 */
public final class Resize {
    private Resize() {
    }

    /** Source index and weight of the next pixel for each destination coordinate (INTER_LINEAR). */
    static void linearTaps(int srcSize, int dstSize, int[] index, float[] weight) {
        double scale = (double) srcSize / dstSize;
        for (int d = 0; d < dstSize; d++) {
            double f = (d + 0.5) * scale - 0.5;
            int s = (int) Math.floor(f);
            double w = f - s;
            if (s < 0) {
                s = 0;
                w = 0;
            }
            if (s >= srcSize - 1) {
                s = srcSize - 1;
                w = 0;
            }
            index[d] = s;
            weight[d] = (float) w;
        }
    }

    /** Source rows/columns and weights of a bilinear resize, shared by the float and ARGB variants. */
    private static final class Grid {
        final int[] xi;
        final float[] xw;
        final int[] yi;
        final float[] yw;

        Grid(int srcW, int srcH, int dstW, int dstH) {
            xi = new int[dstW];
            xw = new float[dstW];
            yi = new int[dstH];
            yw = new float[dstH];
            linearTaps(srcW, dstW, xi, xw);
            linearTaps(srcH, dstH, yi, yw);
        }
    }

    /** Bilinear resize of a single-channel float map (e.g. a foreground probability). */
    public static float[] bilinear(float[] src, int srcW, int srcH, int dstW, int dstH) {
        Grid g = new Grid(srcW, srcH, dstW, dstH);
        float[] out = new float[dstW * dstH];
        for (int y = 0; y < dstH; y++) {
            int r0 = g.yi[y] * srcW;
            int r1 = Math.min(g.yi[y] + 1, srcH - 1) * srcW;
            float wy = g.yw[y];
            for (int x = 0; x < dstW; x++) {
                int c0 = g.xi[x];
                int c1 = Math.min(c0 + 1, srcW - 1);
                float wx = g.xw[x];
                float top = src[r0 + c0] * (1 - wx) + src[r0 + c1] * wx;
                float bottom = src[r1 + c0] * (1 - wx) + src[r1 + c1] * wx;
                out[y * dstW + x] = top * (1 - wy) + bottom * wy;
            }
        }
        return out;
    }

    /** Bilinear resize of packed ARGB pixels, each channel rounded back to 8 bits; alpha becomes opaque. */
    public static int[] bilinearArgb(int[] src, int srcW, int srcH, int dstW, int dstH) {
        Grid g = new Grid(srcW, srcH, dstW, dstH);
        int[] out = new int[dstW * dstH];
        for (int y = 0; y < dstH; y++) {
            int r0 = g.yi[y] * srcW;
            int r1 = Math.min(g.yi[y] + 1, srcH - 1) * srcW;
            float wy = g.yw[y];
            for (int x = 0; x < dstW; x++) {
                int c0 = g.xi[x];
                int c1 = Math.min(c0 + 1, srcW - 1);
                float wx = g.xw[x];
                int p00 = src[r0 + c0];
                int p01 = src[r0 + c1];
                int p10 = src[r1 + c0];
                int p11 = src[r1 + c1];
                int argb = 0xFF000000;
                for (int shift = 16; shift >= 0; shift -= 8) {
                    float top = ((p00 >> shift) & 0xFF) * (1 - wx) + ((p01 >> shift) & 0xFF) * wx;
                    float bottom = ((p10 >> shift) & 0xFF) * (1 - wx) + ((p11 >> shift) & 0xFF) * wx;
                    int v = Math.round(top * (1 - wy) + bottom * wy);
                    argb |= Math.max(0, Math.min(255, v)) << shift;
                }
                out[y * dstW + x] = argb;
            }
        }
        return out;
    }

    /** Nearest-neighbour resize of a label map (INTER_NEAREST). */
    public static int[] nearest(int[] src, int srcW, int srcH, int dstW, int dstH) {
        int[] out = new int[dstW * dstH];
        double sx = (double) srcW / dstW;
        double sy = (double) srcH / dstH;
        for (int y = 0; y < dstH; y++) {
            int ys = Math.min((int) Math.floor(y * sy), srcH - 1);
            for (int x = 0; x < dstW; x++) {
                int xs = Math.min((int) Math.floor(x * sx), srcW - 1);
                out[y * dstW + x] = src[ys * srcW + xs];
            }
        }
        return out;
    }
}
