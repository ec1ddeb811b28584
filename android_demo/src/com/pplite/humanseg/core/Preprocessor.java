package com.pplite.humanseg.core;

/**
 * The zoo's preprocessing, as in converter/preprocess.py: resize to the model's W x H (bilinear), channel order,
 * x * scale, (x - mean) / std, HWC -> NCHW float. Input: packed ARGB pixels (Android Bitmap.getPixels order).
 */
public final class Preprocessor {
    private final ModelSpec spec;

    public Preprocessor(ModelSpec spec) {
        this.spec = spec;
    }

    public float[] toNchw(int[] argb, int srcW, int srcH) {
        int w = spec.width;
        int h = spec.height;
        int[] resized = Resize.bilinearArgb(argb, srcW, srcH, w, h);
        float[] out = new float[3 * w * h];
        int plane = w * h;
        for (int i = 0; i < plane; i++) {
            int p = resized[i];
            float r = (p >> 16) & 0xFF;
            float g = (p >> 8) & 0xFF;
            float b = p & 0xFF;
            float c0 = spec.rgb ? r : b;
            float c2 = spec.rgb ? b : r;
            out[i] = (c0 * spec.scale - spec.mean[0]) / spec.std[0];
            out[plane + i] = (g * spec.scale - spec.mean[1]) / spec.std[1];
            out[2 * plane + i] = (c2 * spec.scale - spec.mean[2]) / spec.std[2];
        }
        return out;
    }
}
