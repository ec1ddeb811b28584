package com.pplite.humanseg.core;

import java.util.List;
import java.util.Map;

/**
 * The converter's model_spec.json, validated: how to feed the model and how to read its output. Every error names
 * the key, so a model swapped in from another tool fails with a message instead of a wrong mask.
 */
public final class ModelSpec {
    public final String model;
    public final String title;
    public final String weights;
    public final int width;
    public final int height;
    public final boolean rgb;
    public final float scale;
    public final float[] mean;
    public final float[] std;
    public final String outputName;
    public final String outputDtype;
    /** softmax (probabilities), logits (scores) or argmax (an integer label map). */
    public final String outputKind;
    public final int foregroundClass;
    /** Temporal smoothing (gated EMA, see TemporalSmoother): weight of a new frame where the picture is still. */
    public final float temporalAlpha;
    /** Luminance change (0..1) from which a pixel counts as moving and is not smoothed. */
    public final float temporalGate;
    /** "gated_ema" or "motion_fusion": the temporal step the Python reference names (model_spec.json). */
    public final String temporalSmoothing;
    /** temporal.fusion: MotionFusion's parameters (doubles and ints, as the Python reference reads them). */
    public final double fusionAlpha;
    public final double fusionGate;
    public final int fusionCoarse;
    public final int fusionSearch;
    public final double fusionCut;
    public final int fusionTile;
    public final double fusionLight;
    public final double fusionJump;
    public final double fusionContradict;

    private ModelSpec(Map<String, Object> root) {
        int version = integer(root, "schema_version");
        if (version != 1 && version != 2) {
            throw new IllegalArgumentException("model_spec.json: schema_version " + version + " is not supported (1, 2)");
        }
        model = text(root, "model");
        title = root.containsKey("title") ? text(root, "title") : model;
        weights = root.containsKey("weights") ? text(root, "weights") : "trained";
        Map<String, Object> pre = map(root, "preprocess");
        width = integer(pre, "width");
        height = integer(pre, "height");
        if (width <= 0 || height <= 0) {
            throw new IllegalArgumentException("model_spec.json: preprocess width/height must be > 0");
        }
        String order = text(pre, "channel_order");
        if (!order.equals("rgb") && !order.equals("bgr")) {
            throw new IllegalArgumentException("model_spec.json: preprocess.channel_order must be rgb or bgr");
        }
        rgb = order.equals("rgb");
        scale = (float) number(pre, "scale");
        mean = triple(pre, "mean");
        std = triple(pre, "std");
        for (float s : std) {
            if (s == 0f) {
                throw new IllegalArgumentException("model_spec.json: preprocess.std must not contain 0");
            }
        }
        List<Object> shape = list(root, "input_shape");
        if (shape.size() != 4 || ((Double) shape.get(2)).intValue() != height || ((Double) shape.get(3)).intValue() != width) {
            throw new IllegalArgumentException("model_spec.json: input_shape must be [1, 3, height, width]");
        }
        Map<String, Object> out = map(root, "output");
        outputName = text(out, "name");
        outputDtype = text(out, "dtype");
        outputKind = text(out, "kind");
        if (!outputKind.equals("softmax") && !outputKind.equals("logits") && !outputKind.equals("argmax")) {
            throw new IllegalArgumentException("model_spec.json: output.kind must be softmax, logits or argmax");
        }
        if (outputKind.equals("argmax") && !outputDtype.equals("int32") && !outputDtype.equals("int64")) {
            throw new IllegalArgumentException("model_spec.json: an argmax output must be int32 or int64");
        }
        foregroundClass = out.containsKey("foreground_class") ? integer(out, "foreground_class") : 1;
        Map<String, Object> temporal = root.containsKey("temporal") ? map(root, "temporal") : null;
        temporalSmoothing = temporal != null && temporal.containsKey("smoothing") ? text(temporal, "smoothing")
                : "gated_ema";
        if (!temporalSmoothing.equals("gated_ema") && !temporalSmoothing.equals("motion_fusion")) {
            throw new IllegalArgumentException("model_spec.json: temporal.smoothing must be gated_ema or motion_fusion");
        }
        temporalAlpha = temporal != null && temporal.containsKey("alpha") ? (float) number(temporal, "alpha") : 0.5f;
        temporalGate = temporal != null && temporal.containsKey("gate") ? (float) number(temporal, "gate") : 0.08f;
        if (!(temporalAlpha > 0f && temporalAlpha <= 1f) || !(temporalGate > 0f)) {
            throw new IllegalArgumentException("model_spec.json: temporal.alpha must be in (0, 1] and temporal.gate > 0");
        }
        Map<String, Object> fusion = temporal != null && temporal.containsKey("fusion") ? map(temporal, "fusion") : null;
        if (fusion == null && temporalSmoothing.equals("motion_fusion")) {
            throw new IllegalArgumentException("model_spec.json: temporal.smoothing motion_fusion needs temporal.fusion");
        }
        fusionAlpha = fusion != null ? number(fusion, "alpha") : 0;
        fusionGate = fusion != null ? number(fusion, "gate") : 0;
        fusionCoarse = fusion != null ? integer(fusion, "coarse") : 0;
        fusionSearch = fusion != null ? integer(fusion, "search") : 0;
        fusionCut = fusion != null ? number(fusion, "cut") : 0;
        fusionTile = fusion != null ? integer(fusion, "tile") : 0;
        fusionLight = fusion != null ? number(fusion, "light") : 0;
        fusionJump = fusion != null ? number(fusion, "jump") : 0;
        fusionContradict = fusion != null ? number(fusion, "contradict") : 0;
    }

    public static ModelSpec parse(String json) {
        Object root = Json.parse(json);
        if (!(root instanceof Map)) {
            throw new IllegalArgumentException("model_spec.json: the top level must be an object");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = (Map<String, Object>) root;
        return new ModelSpec(map);
    }

    public boolean randomWeights() {
        return "random".equals(weights);
    }

    public long[] inputDims() {
        return new long[] {1, 3, height, width};
    }

    public String inputShapeText() {
        return "1x3x" + height + "x" + width;
    }

    private static Object get(Map<String, Object> m, String key) {
        if (!m.containsKey(key)) {
            throw new IllegalArgumentException("model_spec.json: missing key '" + key + "'");
        }
        return m.get(key);
    }

    private static String text(Map<String, Object> m, String key) {
        Object v = get(m, key);
        if (!(v instanceof String)) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must be a string");
        }
        return (String) v;
    }

    private static double number(Map<String, Object> m, String key) {
        Object v = get(m, key);
        if (!(v instanceof Double)) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must be a number");
        }
        return (Double) v;
    }

    private static int integer(Map<String, Object> m, String key) {
        double d = number(m, key);
        if (d != Math.rint(d)) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must be an integer");
        }
        return (int) d;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Map<String, Object> m, String key) {
        Object v = get(m, key);
        if (!(v instanceof Map)) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must be an object");
        }
        return (Map<String, Object>) v;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> m, String key) {
        Object v = get(m, key);
        if (!(v instanceof List)) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must be a list");
        }
        for (Object x : (List<Object>) v) {
            if (!(x instanceof Double)) {
                throw new IllegalArgumentException("model_spec.json: '" + key + "' must hold numbers");
            }
        }
        return (List<Object>) v;
    }

    private static float[] triple(Map<String, Object> m, String key) {
        List<Object> v = list(m, key);
        if (v.size() != 3) {
            throw new IllegalArgumentException("model_spec.json: '" + key + "' must hold 3 numbers");
        }
        return new float[] {((Double) v.get(0)).floatValue(), ((Double) v.get(1)).floatValue(), ((Double) v.get(2)).floatValue()};
    }
}
