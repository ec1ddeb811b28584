package com.pplite.humanseg.core;

/**
 * Temporal smoothing of the person probability across camera frames, the same arithmetic as the Python reference
 * (converter/images/temporal.py), parameters from model_spec.json's "temporal": where the picture is still the new
 * probability is blended with the previous smoothed one; where the luminance changed by the gate or more it is taken
 * as is; the weight ramps linearly between. All in float, in the Python order, so both agree to rounding.
 */
public final class TemporalSmoother {
    private final float alpha;
    private final float gate;
    private float[] prevY;
    private float[] prevS;

    public TemporalSmoother(float alpha, float gate) {
        if (!(alpha > 0f && alpha <= 1f) || !(gate > 0f)) {
            throw new IllegalArgumentException("smoothing alpha must be in (0, 1] and gate > 0");
        }
        this.alpha = alpha;
        this.gate = gate;
    }

    public TemporalSmoother(ModelSpec spec) {
        this(spec.temporalAlpha, spec.temporalGate);
    }

    /** Luminance (BT.601 weights, 0..255) of packed ARGB pixels. */
    public static float[] luminance(int[] argb) {
        float[] y = new float[argb.length];
        for (int i = 0; i < argb.length; i++) {
            float r = (argb[i] >> 16) & 0xFF;
            float g = (argb[i] >> 8) & 0xFF;
            float b = argb[i] & 0xFF;
            y[i] = 0.299f * r + 0.587f * g + 0.114f * b;
        }
        return y;
    }

    /** One frame: its probability and luminance at model resolution; returns the smoothed probability. */
    public float[] step(float[] prob, float[] y) {
        if (prob.length != y.length) {
            throw new IllegalArgumentException("probability (" + prob.length + ") and luminance (" + y.length + ") differ in size");
        }
        float[] out = new float[prob.length];
        if (prevS == null || prevS.length != prob.length) {
            System.arraycopy(prob, 0, out, 0, prob.length);
        } else {
            for (int i = 0; i < prob.length; i++) {
                float change = Math.abs(y[i] - prevY[i]) / 255.0f;
                float w = alpha + (1.0f - alpha) * Math.min(1.0f, change / gate);
                out[i] = w * prob[i] + (1.0f - w) * prevS[i];
            }
        }
        prevY = y.clone();
        prevS = out;
        return out.clone();
    }

    /** Forget the previous frame (the camera restarted, the model changed). */
    public void reset() {
        prevY = null;
        prevS = null;
    }
}
