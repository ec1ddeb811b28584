package com.baidu.paddle.lite;

/** Stub (compile-only): see README.txt. */
public class Tensor {
    public boolean resize(long[] dims) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public boolean setData(float[] buf) {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public long[] shape() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public float[] getFloatData() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public int[] getIntData() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }

    public long[] getLongData() {
        throw new UnsupportedOperationException("Paddle-Lite stub");
    }
}
