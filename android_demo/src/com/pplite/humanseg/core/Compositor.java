package com.pplite.humanseg.core;

/** Background replacement and mask overlay on packed ARGB frames, with alpha in [0, 1] per pixel. */
public final class Compositor {
    private Compositor() {
    }

    /** out = alpha * frame + (1 - alpha) * background, per channel, rounded. */
    public static int[] blend(int[] frame, float[] alpha, int[] background) {
        if (frame.length != alpha.length || frame.length != background.length) {
            throw new IllegalArgumentException("frame, alpha and background must have the same size");
        }
        int[] out = new int[frame.length];
        for (int i = 0; i < frame.length; i++) {
            float a = Math.max(0f, Math.min(1f, alpha[i]));
            int f = frame[i];
            int b = background[i];
            int argb = 0xFF000000;
            for (int shift = 16; shift >= 0; shift -= 8) {
                float v = ((f >> shift) & 0xFF) * a + ((b >> shift) & 0xFF) * (1 - a);
                argb |= Math.min(255, Math.round(v)) << shift;
            }
            out[i] = argb;
        }
        return out;
    }

    public static int[] solid(int argb, int count) {
        int[] out = new int[count];
        java.util.Arrays.fill(out, 0xFF000000 | argb);
        return out;
    }

    /** Separable box blur (two passes approximate a Gaussian well enough for a background). */
    public static int[] blur(int[] argb, int width, int height, int radius) {
        int[] once = boxPass(argb, width, height, radius, true);
        once = boxPass(once, width, height, radius, false);
        int[] twice = boxPass(once, width, height, radius, true);
        return boxPass(twice, width, height, radius, false);
    }

    private static int[] boxPass(int[] src, int width, int height, int radius, boolean horizontal) {
        int[] out = new int[src.length];
        int lines = horizontal ? height : width;
        int length = horizontal ? width : height;
        for (int line = 0; line < lines; line++) {
            int r = 0;
            int g = 0;
            int b = 0;
            int n = 0;
            for (int k = -radius; k <= radius; k++) {
                int p = src[index(line, clampIndex(k, length), horizontal, width)];
                r += (p >> 16) & 0xFF;
                g += (p >> 8) & 0xFF;
                b += p & 0xFF;
                n++;
            }
            for (int i = 0; i < length; i++) {
                out[index(line, i, horizontal, width)] = 0xFF000000 | ((r / n) << 16) | ((g / n) << 8) | (b / n);
                int drop = src[index(line, clampIndex(i - radius, length), horizontal, width)];
                int add = src[index(line, clampIndex(i + radius + 1, length), horizontal, width)];
                r += ((add >> 16) & 0xFF) - ((drop >> 16) & 0xFF);
                g += ((add >> 8) & 0xFF) - ((drop >> 8) & 0xFF);
                b += (add & 0xFF) - (drop & 0xFF);
            }
        }
        return out;
    }

    private static int clampIndex(int i, int length) {
        return Math.max(0, Math.min(length - 1, i));
    }

    private static int index(int line, int i, boolean horizontal, int width) {
        return horizontal ? line * width + i : i * width + line;
    }

    /** Tints the person with a colour at the given opacity (the mask view). */
    public static int[] overlay(int[] frame, float[] alpha, int argb, float opacity) {
        int[] tint = new int[frame.length];
        float[] weight = new float[frame.length];
        for (int i = 0; i < frame.length; i++) {
            tint[i] = 0xFF000000 | argb;
            weight[i] = 1f - opacity * Math.max(0f, Math.min(1f, alpha[i]));
        }
        return blend(frame, weight, tint);
    }
}
