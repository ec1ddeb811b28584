package com.pplite.humanseg.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

public class ModelSpecTest {
    @Test
    public void readsTheConvertersSpec() throws Exception {
        ModelSpec spec = Goldens.spec();
        assertEquals(Goldens.index().get("model"), spec.model);
        assertTrue(spec.width > 0 && spec.height > 0);
        assertArrayEquals(new long[] {1, 3, spec.height, spec.width}, spec.inputDims());
        assertEquals("1x3x" + spec.height + "x" + spec.width, spec.inputShapeText());
        assertTrue(spec.rgb);
        assertEquals(1f / 255f, spec.scale, 1e-7f);
        assertEquals("softmax", spec.outputKind);
        assertEquals(1, spec.foregroundClass);
        assertFalse(spec.randomWeights());
    }

    private static String spec(String output) {
        return "{\"schema_version\": 1, \"model\": \"m\", \"input_name\": \"x\", \"input_shape\": [1, 3, 2, 4],"
                + " \"preprocess\": {\"width\": 4, \"height\": 2, \"resize\": \"bilinear\", \"channel_order\": \"rgb\","
                + " \"scale\": 0.00392156862745098, \"mean\": [0.5, 0.5, 0.5], \"std\": [0.5, 0.5, 0.5]},"
                + " \"output\": " + output + "}";
    }

    @Test
    public void namesTheBadKey() {
        String[][] cases = {
            {"{\"name\": \"y\", \"dtype\": \"int16\", \"kind\": \"argmax\"}", "argmax output must be int32 or int64"},
            {"{\"name\": \"y\", \"dtype\": \"float32\"}", "missing key 'kind'"},
            {"{\"name\": \"y\", \"dtype\": \"float32\", \"kind\": \"sigmoid\"}", "output.kind must be"},
        };
        for (String[] c : cases) {
            try {
                ModelSpec.parse(spec(c[0]));
                fail("accepted " + c[0]);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().contains(c[1]));
            }
        }
        ModelSpec ok = ModelSpec.parse(spec("{\"name\": \"y\", \"dtype\": \"int64\", \"kind\": \"argmax\"}"));
        assertEquals("argmax", ok.outputKind);
    }
}
