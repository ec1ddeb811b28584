package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.Map;
import org.junit.Test;

/** The frame path without the runtime: pixels -> tensor, reference output -> alpha -> background replaced. */
public class PipelineTest {
    @Test
    public void replacesTheBackgroundOutsideThePerson() throws Exception {
        ModelSpec spec = Goldens.spec();
        Map<String, Object> img = null;  // the golden image with the most person in Python's mask
        for (Map<String, Object> candidate : Goldens.list("images")) {
            if (img == null || Goldens.number(candidate, "mask_fraction") > Goldens.number(img, "mask_fraction")) {
                img = candidate;
            }
        }
        int w = Goldens.integer(img, "width");
        int h = Goldens.integer(img, "height");
        int[] frame = Goldens.argb(Goldens.bytes((String) img.get("rgb")));
        assertEquals(3 * spec.width * spec.height, new Preprocessor(spec).toNchw(frame, w, h).length);
        MaskDecoder dec = new MaskDecoder(spec);
        float[] prob = dec.foregroundProbability(Goldens.floats((String) img.get("output")), 2);
        boolean[] mask = dec.maskAtSize(prob, w, h);
        int[] out = Compositor.blend(frame, MaskDecoder.toAlpha(mask), Compositor.solid(0x00FF00, w * h));
        int person = 0;
        for (int i = 0; i < out.length; i++) {
            assertEquals(mask[i] ? frame[i] : 0xFF00FF00, out[i]);
            person += mask[i] ? 1 : 0;
        }
        double python = Goldens.number(img, "mask_fraction");
        assertEquals("the person's share of the frame, Java vs Python", python, person / (double) out.length, 0.01);
        if (python > 0.02) {  // real photos (the shared demo images) show a person; generated textures need not
            assertTrue("the golden image shows a person", person > out.length / 50);
        }
    }
}
