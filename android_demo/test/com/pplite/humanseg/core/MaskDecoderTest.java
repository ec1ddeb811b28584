package com.pplite.humanseg.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import org.junit.Test;

/** Masks from the reference output vs the Python pipeline's mask (benchmark.metrics.prediction_at_size). */
public class MaskDecoderTest {
    private static boolean[] pythonMask(Map<String, Object> img) throws Exception {
        byte[] raw = Goldens.bytes((String) img.get("mask"));
        boolean[] mask = new boolean[raw.length];
        for (int i = 0; i < raw.length; i++) {
            mask[i] = raw[i] != 0;
        }
        return mask;
    }

    @Test
    public void softmaxMaskAgreesWithPython() throws Exception {
        MaskDecoder dec = new MaskDecoder(Goldens.spec());
        for (Map<String, Object> img : Goldens.list("images")) {
            int w = Goldens.integer(img, "width");
            int h = Goldens.integer(img, "height");
            float[] prob = dec.foregroundProbability(Goldens.floats((String) img.get("output")), 2);
            double iou = MaskDecoder.iou(dec.maskAtSize(prob, w, h), pythonMask(img));
            System.out.println("  " + img.get("name") + ": mask IoU vs Python " + String.format("%.5f", iou));
            assertTrue(img.get("name") + ": IoU " + iou, iou >= 0.99);
        }
    }

    @Test
    public void labelMapsAndLogitsGiveTheSameMask() throws Exception {
        ModelSpec spec = Goldens.spec();
        MaskDecoder dec = new MaskDecoder(spec);
        Map<String, Object> img = Goldens.list("images").get(0);
        float[] out = Goldens.floats((String) img.get("output"));
        int plane = spec.width * spec.height;
        int[] labels32 = new int[plane];
        long[] labels64 = new long[plane];
        float[] logits = new float[out.length];
        for (int i = 0; i < plane; i++) {
            labels32[i] = out[plane + i] > out[i] ? 1 : 0;
            labels64[i] = labels32[i];
        }
        for (int i = 0; i < out.length; i++) {
            logits[i] = (float) Math.log(Math.max(out[i], 1e-30f));
        }
        boolean[] fromLabels = dec.maskFromLabels(labels32, spec.width, spec.height);
        assertArrayEquals(fromLabels, dec.maskFromLabels(labels64, spec.width, spec.height));
        ModelSpec logitSpec = ModelSpec.parse(Goldens.text("model_spec.json").replace("\"softmax\"", "\"logits\""));
        float[] prob = new MaskDecoder(logitSpec).foregroundProbability(logits, 2);
        boolean[] fromLogits = dec.maskAtSize(prob, spec.width, spec.height);
        assertTrue(MaskDecoder.iou(fromLabels, fromLogits) > 0.999);
    }
}
