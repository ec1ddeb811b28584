package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import org.junit.Test;

/** Java preprocessing vs converter/preprocess.py (OpenCV) on the same decoded pixels. */
public class PreprocessorTest {
    @Test
    public void matchesThePythonTensor() throws Exception {
        ModelSpec spec = Goldens.spec();
        Preprocessor pre = new Preprocessor(spec);
        for (Map<String, Object> img : Goldens.list("images")) {
            int w = Goldens.integer(img, "width");
            int h = Goldens.integer(img, "height");
            float[] mine = pre.toNchw(Goldens.argb(Goldens.bytes((String) img.get("rgb"))), w, h);
            float[] python = Goldens.floats((String) img.get("input"));
            assertEquals(python.length, mine.length);
            double max = 0;
            double sum = 0;
            for (int i = 0; i < mine.length; i++) {
                double d = Math.abs(mine[i] - python[i]);
                max = Math.max(max, d);
                sum += d;
            }
            // OpenCV's uint8 bilinear uses 11-bit fixed-point weights: at most one grey level apart (2/255 here)
            assertTrue(img.get("name") + ": max abs diff " + max, max <= 2.0 / 255 / spec.std[0] + 1e-5);
            assertTrue(img.get("name") + ": mean abs diff " + sum / mine.length, sum / mine.length < 1e-3);
        }
    }
}
