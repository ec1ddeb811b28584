package com.pplite.humanseg.core;

import java.util.Arrays;

/** The last N timings (ms) with their median, mean and 90th percentile, for the on-screen figures. */
public final class TimingStats {
    private final double[] window;
    private int count;
    private int next;

    public TimingStats(int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1");
        }
        window = new double[capacity];
    }

    public synchronized void add(double ms) {
        window[next] = ms;
        next = (next + 1) % window.length;
        count = Math.min(count + 1, window.length);
    }

    public synchronized int count() {
        return count;
    }

    private double[] sorted() {
        double[] values = Arrays.copyOf(window, count);
        Arrays.sort(values);
        return values;
    }

    public synchronized double median() {
        if (count == 0) {
            return Double.NaN;
        }
        double[] v = sorted();
        return count % 2 == 1 ? v[count / 2] : (v[count / 2 - 1] + v[count / 2]) / 2;
    }

    public synchronized double mean() {
        if (count == 0) {
            return Double.NaN;
        }
        double sum = 0;
        for (int i = 0; i < count; i++) {
            sum += window[i];
        }
        return sum / count;
    }

    /** Nearest-rank 90th percentile. */
    public synchronized double p90() {
        if (count == 0) {
            return Double.NaN;
        }
        double[] v = sorted();
        int rank = (int) Math.ceil(0.9 * count);
        return v[Math.max(0, rank - 1)];
    }
}
