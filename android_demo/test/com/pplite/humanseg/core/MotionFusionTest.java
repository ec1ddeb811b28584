package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The demo's motion-compensated fusion against the Python reference's output on the same stream (goldens). */
public class MotionFusionTest {
    @Test
    @SuppressWarnings("unchecked")
    public void matchesThePythonFusionFrameByFrame() throws Exception {
        Map<String, Object> s = (Map<String, Object>) Goldens.index().get("fusion");
        int w = Goldens.integer(s, "width"), h = Goldens.integer(s, "height");
        MotionFusion fusion = new MotionFusion(Goldens.number(s, "alpha"), Goldens.number(s, "gate"),
                Goldens.integer(s, "coarse"), Goldens.integer(s, "search"), Goldens.number(s, "cut"),
                Goldens.integer(s, "tile"), Goldens.number(s, "light"), Goldens.number(s, "jump"),
                Goldens.number(s, "contradict"));
        List<Map<String, Object>> frames = (List<Map<String, Object>>) s.get("frames");
        assertTrue(frames.size() >= 3);
        int fused = 0;
        for (Map<String, Object> f : frames) {
            float[] prob = Goldens.floats((String) f.get("prob"));
            float[] expected = Goldens.floats((String) f.get("fused"));
            int[] argb = Goldens.argb(Goldens.bytes((String) f.get("rgb")));
            float[] got = fusion.step(prob, argb, w, h);
            assertEquals(expected.length, got.length);
            for (int i = 0; i < got.length; i++) {
                assertEquals("pixel " + i, expected[i], got[i], 1e-6f);
                fused += Math.abs(got[i] - prob[i]) > 1e-3f ? 1 : 0;
            }
        }
        assertTrue("the stream exercises the fusion", fused > w * h);
    }

    @Test
    public void theSpecNamesTheFusionWithItsParameters() throws Exception {
        ModelSpec spec = ModelSpec.parse("{\"schema_version\":2,\"model\":\"m\",\"input_name\":\"x\",\"input_shape\":[1,3,8,8],"
                + "\"preprocess\":{\"width\":8,\"height\":8,\"channel_order\":\"rgb\",\"scale\":1,\"mean\":[0,0,0],"
                + "\"std\":[1,1,1]},\"output\":{\"name\":\"y\",\"dtype\":\"float32\",\"kind\":\"softmax\"},"
                + "\"temporal\":{\"smoothing\":\"motion_fusion\",\"fusion\":{\"alpha\":0.1,\"gate\":0.2,\"coarse\":4,"
                + "\"search\":3,\"cut\":0.3,\"tile\":16,\"light\":0.3,\"jump\":0.04,\"contradict\":0.5}},\"files\":{}}");
        assertEquals("motion_fusion", spec.temporalSmoothing);
        assertEquals(0.1, spec.fusionAlpha, 0.0);
        assertEquals(16, spec.fusionTile);
        assertEquals(0.04, spec.fusionJump, 0.0);
        assertEquals(0.5, spec.fusionContradict, 0.0);
    }

    @Test(expected = IllegalArgumentException.class)
    public void refusesAnOddCoarseCell() {
        new MotionFusion(0.1, 0.2, 3, 3, 0.3, 16, 0.3, 0.04, 0.5);
    }

    @Test(expected = IllegalArgumentException.class)
    public void refusesAContradictionThresholdOfOne() {
        new MotionFusion(0.1, 0.2, 4, 3, 0.3, 16, 0.3, 0.04, 1.0);
    }
}
