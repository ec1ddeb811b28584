package com.pplite.humanseg.core;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;

import org.junit.Test;

public class CompositorTest {
    @Test
    public void blendsByAlpha() {
        int[] frame = {0xFF204060, 0xFF204060, 0xFF204060};
        int[] bg = Compositor.solid(0x00FF00, 3);
        int[] out = Compositor.blend(frame, new float[] {1f, 0f, 0.5f}, bg);
        assertEquals(0xFF204060, out[0]);
        assertEquals(0xFF00FF00, out[1]);
        assertEquals(0xFF10A030, out[2]);
    }

    @Test
    public void blurKeepsFlatImagesAndSmoothsEdges() {
        int w = 9;
        int h = 5;
        int[] flat = Compositor.solid(0x336699, w * h);
        assertArrayEquals(flat, Compositor.blur(flat, w, h, 2));
        int[] edge = new int[w * h];
        for (int i = 0; i < edge.length; i++) {
            edge[i] = (i % w) < w / 2 ? 0xFF000000 : 0xFFFFFFFF;
        }
        int[] soft = Compositor.blur(edge, w, h, 2);
        int mid = soft[2 * w + w / 2] & 0xFF;
        assertEquals(true, mid > 0 && mid < 255);
    }

    @Test
    public void overlayTintsOnlyThePerson() {
        int[] frame = {0xFF000000, 0xFF000000};
        int[] out = Compositor.overlay(frame, new float[] {1f, 0f}, 0xFF0000, 0.5f);
        assertEquals(0xFF800000, out[0]);
        assertEquals(0xFF000000, out[1]);
    }
}
