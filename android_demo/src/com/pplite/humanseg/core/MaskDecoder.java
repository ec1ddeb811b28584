package com.pplite.humanseg.core;

/**
 * The model's output to a person mask, as benchmark/metrics.py does it: the foreground probability (softmax, or
 * softmax of logits) resized bilinearly to the frame and thresholded at 0.5; an integer label map (argmax output,
 * int32 or int64) resized nearest and compared with the foreground class.
 */
public final class MaskDecoder {
    private final ModelSpec spec;

    public MaskDecoder(ModelSpec spec) {
        this.spec = spec;
    }

    /** Foreground probability at model resolution from a float output [1, C, H, W]. */
    public float[] foregroundProbability(float[] output, int classes) {
        int plane = spec.width * spec.height;
        if (output.length != classes * plane) {
            throw new IllegalArgumentException(
                    "output has " + output.length + " values, expected " + classes + " x " + spec.height + " x " + spec.width);
        }
        int fg = spec.foregroundClass;
        float[] prob = new float[plane];
        if (spec.outputKind.equals("softmax")) {
            System.arraycopy(output, fg * plane, prob, 0, plane);
            return prob;
        }
        for (int i = 0; i < plane; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, output[c * plane + i]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(output[c * plane + i] - max);
            }
            prob[i] = (float) (Math.exp(output[fg * plane + i] - max) / sum);
        }
        return prob;
    }

    /** Soft alpha (the probability) at frame size, for compositing with smooth edges. */
    public float[] alphaAtSize(float[] prob, int frameW, int frameH) {
        return Resize.bilinear(prob, spec.width, spec.height, frameW, frameH);
    }

    /** Binary mask at frame size from probabilities (p > 0.5). */
    public boolean[] maskAtSize(float[] prob, int frameW, int frameH) {
        float[] alpha = alphaAtSize(prob, frameW, frameH);
        boolean[] mask = new boolean[alpha.length];
        for (int i = 0; i < alpha.length; i++) {
            mask[i] = alpha[i] > 0.5f;
        }
        return mask;
    }

    /** Binary mask at frame size from an int32 label map. */
    public boolean[] maskFromLabels(int[] labels, int frameW, int frameH) {
        if (labels.length != spec.width * spec.height) {
            throw new IllegalArgumentException("label map has " + labels.length + " values, expected " + spec.width * spec.height);
        }
        int[] resized = Resize.nearest(labels, spec.width, spec.height, frameW, frameH);
        boolean[] mask = new boolean[resized.length];
        for (int i = 0; i < resized.length; i++) {
            mask[i] = resized[i] == spec.foregroundClass;
        }
        return mask;
    }

    /** Binary mask at frame size from an int64 label map. */
    public boolean[] maskFromLabels(long[] labels, int frameW, int frameH) {
        int[] narrow = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            narrow[i] = (int) labels[i];
        }
        return maskFromLabels(narrow, frameW, frameH);
    }

    public static float[] toAlpha(boolean[] mask) {
        float[] alpha = new float[mask.length];
        for (int i = 0; i < mask.length; i++) {
            alpha[i] = mask[i] ? 1f : 0f;
        }
        return alpha;
    }

    public static double iou(boolean[] a, boolean[] b) {
        int inter = 0;
        int union = 0;
        for (int i = 0; i < a.length; i++) {
            if (a[i] && b[i]) {
                inter++;
            }
            if (a[i] || b[i]) {
                union++;
            }
        }
        return union == 0 ? 1.0 : (double) inter / union;
    }
}
