package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import org.junit.Test;

public class JsonTest {
    @Test
    @SuppressWarnings("unchecked")
    public void parsesNestedValues() {
        Map<String, Object> m = (Map<String, Object>) Json.parse(
                "{\"a\": [1, 2.5e1, -3], \"b\": {\"c\": \"x\\\"y\\u00e9\"}, \"t\": true, \"n\": null}");
        assertEquals(25.0, (Double) ((List<Object>) m.get("a")).get(1), 0);
        assertEquals("x\"y\u00e9", ((Map<String, Object>) m.get("b")).get("c"));
        assertEquals(Boolean.TRUE, m.get("t"));
        assertNull(m.get("n"));
    }

    @Test
    public void rejectsBrokenInput() {
        String[] bad = {"{\"a\": 1,}", "[1 2]", "{\"a\": tru}", "\"open", "{} x", "{\"a\": \"\\q\"}"};
        for (String text : bad) {
            try {
                Json.parse(text);
                fail("accepted " + text);
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage(), e.getMessage().startsWith("JSON error at character"));
            }
        }
    }
}
