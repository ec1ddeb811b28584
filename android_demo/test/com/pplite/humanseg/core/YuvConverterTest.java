package com.pplite.humanseg.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import java.util.Map;
import org.junit.Test;

/** Camera-like frames (planar and NV21, padded rows) against the RGB Python expects for each rotation. */
public class YuvConverterTest {
    @Test
    @SuppressWarnings("unchecked")
    public void convertsAndRotatesLikeThePythonGolden() throws Exception {
        int checked = 0;
        for (Map<String, Object> f : Goldens.list("yuv")) {
            int w = Goldens.integer(f, "width");
            int h = Goldens.integer(f, "height");
            byte[] y = Goldens.bytes((String) f.get("y"));
            byte[] u = Goldens.bytes((String) f.get("u"));
            byte[] v = Goldens.bytes((String) f.get("v"));
            Map<String, Object> expected = (Map<String, Object>) f.get("expected");
            for (int rotation = 0; rotation < 360; rotation += 90) {
                int[] mine = YuvConverter.toArgb(y, Goldens.integer(f, "y_row_stride"), u, v,
                        Goldens.integer(f, "uv_row_stride"), Goldens.integer(f, "uv_pixel_stride"), w, h, rotation);
                int[] python = Goldens.argb(Goldens.bytes((String) expected.get(String.valueOf(rotation))));
                assertArrayEquals(f.get("layout") + " rotation " + rotation, python, mine);
                int[] size = YuvConverter.rotatedSize(w, h, rotation);
                assertEquals(size[0] * size[1], mine.length);
                checked++;
            }
        }
        assertEquals(8, checked);
    }

    @Test(expected = IllegalArgumentException.class)
    public void rejectsOddRotations() {
        YuvConverter.rotatedSize(4, 4, 45);
    }
}
