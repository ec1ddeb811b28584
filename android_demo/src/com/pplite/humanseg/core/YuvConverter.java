package com.pplite.humanseg.core;

/**
 * Camera frames (ImageFormat.YUV_420_888) to packed ARGB, rotated clockwise by the sensor orientation so the
 * person is upright. Works for planar (I420, pixel stride 1) and semi-planar (NV12/NV21, pixel stride 2) layouts
 * with any row stride, as camera2 hands them out. Full-range BT.601 (JFIF), what Android cameras produce.
 */
public final class YuvConverter {
    private YuvConverter() {
    }

    /** Output size for a rotation: {width, height}. */
    public static int[] rotatedSize(int width, int height, int rotationDegrees) {
        checkRotation(rotationDegrees);
        return rotationDegrees % 180 == 0 ? new int[] {width, height} : new int[] {height, width};
    }

    private static void checkRotation(int rotationDegrees) {
        if (rotationDegrees != 0 && rotationDegrees != 90 && rotationDegrees != 180 && rotationDegrees != 270) {
            throw new IllegalArgumentException("rotation must be 0, 90, 180 or 270, got " + rotationDegrees);
        }
    }

    static int clamp8(double v) {
        long r = (long) Math.floor(v + 0.5);
        return (int) Math.max(0, Math.min(255, r));
    }

    public static int[] toArgb(
            byte[] y, int yRowStride, byte[] u, byte[] v, int uvRowStride, int uvPixelStride,
            int width, int height, int rotationDegrees) {
        checkRotation(rotationDegrees);
        int[] size = rotatedSize(width, height, rotationDegrees);
        int outW = size[0];
        int[] out = new int[width * height];
        for (int row = 0; row < height; row++) {
            for (int col = 0; col < width; col++) {
                double yy = y[row * yRowStride + col] & 0xFF;
                int uv = (row / 2) * uvRowStride + (col / 2) * uvPixelStride;
                double cb = (u[uv] & 0xFF) - 128.0;
                double cr = (v[uv] & 0xFF) - 128.0;
                int r = clamp8(yy + 1.402 * cr);
                int g = clamp8(yy - 0.344136 * cb - 0.714136 * cr);
                int b = clamp8(yy + 1.772 * cb);
                int ox;
                int oy;
                if (rotationDegrees == 0) {
                    ox = col;
                    oy = row;
                } else if (rotationDegrees == 90) {
                    ox = height - 1 - row;
                    oy = col;
                } else if (rotationDegrees == 180) {
                    ox = width - 1 - col;
                    oy = height - 1 - row;
                } else {
                    ox = row;
                    oy = width - 1 - col;
                }
                out[oy * outW + ox] = 0xFF000000 | (r << 16) | (g << 8) | b;
            }
        }
        return out;
    }
}
