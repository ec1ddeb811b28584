package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.Test;

/** The demo's temporal smoothing against the Python reference's output on the same stream (goldens). */
public class TemporalSmootherTest {
    @SuppressWarnings("unchecked")
    private static Map<String, Object> stream() throws Exception {
        return (Map<String, Object>) Goldens.index().get("temporal");
    }

    @Test
    public void matchesThePythonSmootherFrameByFrame() throws Exception {
        ModelSpec spec = Goldens.spec();
        Map<String, Object> s = stream();
        assertEquals(Goldens.number(s, "alpha"), spec.temporalAlpha, 1e-6);
        assertEquals(Goldens.number(s, "gate"), spec.temporalGate, 1e-6);
        TemporalSmoother smoother = new TemporalSmoother(spec);
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> frames = (List<Map<String, Object>>) s.get("frames");
        assertTrue(frames.size() >= 3);
        int smoothedSomewhere = 0;
        for (Map<String, Object> f : frames) {
            float[] prob = Goldens.floats((String) f.get("prob"));
            float[] expected = Goldens.floats((String) f.get("smoothed"));
            float[] got = smoother.step(prob, Goldens.floats((String) f.get("luma")));
            assertEquals(expected.length, got.length);
            for (int i = 0; i < got.length; i++) {
                assertEquals("pixel " + i, expected[i], got[i], 1e-6f);
                smoothedSomewhere += Math.abs(got[i] - prob[i]) > 1e-4f ? 1 : 0;
            }
        }
        assertTrue("the stream exercises the smoothing", smoothedSomewhere > 0);
    }

    @Test
    public void luminanceMatchesPython() throws Exception {
        Map<String, Object> s = stream();
        int[] argb = Goldens.argb(Goldens.bytes((String) s.get("rgb")));
        @SuppressWarnings("unchecked")
        Map<String, Object> first = ((List<Map<String, Object>>) s.get("frames")).get(0);
        float[] y = Goldens.floats((String) first.get("luma"));
        float[] got = TemporalSmoother.luminance(argb);
        for (int i = 0; i < got.length; i++) {
            if (i / Goldens.integer(s, "width") >= Goldens.integer(s, "height") / 4) {  // below the moved square
                assertEquals("pixel " + i, y[i], got[i], 1e-3f);
            }
        }
    }

    @Test(expected = IllegalArgumentException.class)
    public void refusesAWeightOutsideItsRange() {
        new TemporalSmoother(0f, 0.08f);
    }
}
