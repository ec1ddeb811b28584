package com.pplite.humanseg.core;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class TimingStatsTest {
    @Test
    public void keepsTheLastWindow() {
        TimingStats t = new TimingStats(5);
        assertTrue(Double.isNaN(t.median()));
        for (double ms : new double[] {100, 1, 2, 3, 4, 5}) {
            t.add(ms);
        }
        assertEquals(5, t.count());
        assertEquals(3.0, t.median(), 0);
        assertEquals(3.0, t.mean(), 0);
        assertEquals(5.0, t.p90(), 0);
        t.add(6);
        assertEquals(4.0, t.median(), 0);
    }
}
